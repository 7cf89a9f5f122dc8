from __future__ import annotations

from pydantic import BaseModel, Field

from omniline.kit.fields import JsonIn
from omniline.kit.ids import Id


class LoginIn(JsonIn):
    email: str = Field(min_length=3, max_length=320)
    password: str = Field(min_length=1, max_length=1024)
    # A code from the authenticator app, or a recovery code, for users with two-factor on.
    otp: str | None = Field(default=None, max_length=64)


class UserOut(BaseModel):
    id: int
    email: str
    name: str
    role: str
    locale: str
    workspace_id: Id


class LoginOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_at: str | None
    user: UserOut
