from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator

from omniline.config import get_settings
from omniline.kit.fields import JsonIn
from omniline.kit.ids import MAX_ID, WHOLE


def _no_control_characters(value: str | None) -> str | None:
    # Each field is one line of the signed text (auth/tokens.identity_string): a line break
    # would let text move from one field into the next.
    if value is not None and any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise ValueError("must not contain line breaks or other control characters")
    return value


class IdentityIn(JsonIn):
    """A logged-in customer as the lender's server vouches for them (docs/widget.md)."""

    external_id: str = Field(min_length=1, max_length=200)
    signature: str = Field(min_length=16, max_length=256)
    name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=32)
    # Unix seconds; optional in the schema so that an old-style identity gets a clear 401.
    expires: Annotated[int, Field(ge=0, le=MAX_ID), WHOLE] | None = None

    _clean = field_validator("external_id", "name", "email", "phone")(_no_control_characters)


class SessionIn(JsonIn):
    inbox_key: str = Field(min_length=1, max_length=64)
    identity: IdentityIn | None = None
    session_token: str | None = Field(default=None, max_length=1000)
    locale: str | None = Field(default=None, max_length=16)


class WidgetMessageIn(JsonIn):
    text: str
    client_id: str | None = Field(default=None, min_length=1, max_length=100)
    # The bot's quick reply the customer pressed ("payload" of the button); ``text`` is its label.
    payload: str | None = Field(default=None, min_length=1, max_length=200)

    @field_validator("text")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        limit = get_settings().message_max_chars
        if len(value) > limit:
            raise ValueError(f"must be at most {limit} characters")
        return value
