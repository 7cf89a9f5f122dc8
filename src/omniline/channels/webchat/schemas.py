from __future__ import annotations

from pydantic import BaseModel, Field, field_validator

from omniline.config import get_settings


class IdentityIn(BaseModel):
    external_id: str = Field(min_length=1, max_length=200)
    signature: str = Field(min_length=16, max_length=256)
    name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=32)


class SessionIn(BaseModel):
    inbox_key: str = Field(min_length=1, max_length=64)
    identity: IdentityIn | None = None
    session_token: str | None = Field(default=None, max_length=1000)
    locale: str | None = Field(default=None, max_length=16)


class WidgetMessageIn(BaseModel):
    text: str
    client_id: str | None = Field(default=None, min_length=1, max_length=100)

    @field_validator("text")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        limit = get_settings().message_max_chars
        if len(value) > limit:
            raise ValueError(f"must be at most {limit} characters")
        return value
