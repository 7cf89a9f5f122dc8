from __future__ import annotations

from pydantic import Field, field_validator

from omniline.config import get_settings
from omniline.kit.fields import NOT_BLANK, JsonIn
from omniline.kit.ids import Id

KEY_MAX = 200


class ReplyIn(JsonIn):
    text: str = Field(json_schema_extra={"pattern": NOT_BLANK})
    private: bool = False
    # Or the Idempotency-Key header: a retry with the same key is stored once.
    idempotency_key: str | None = Field(default=None, min_length=1, max_length=KEY_MAX)

    @field_validator("text")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        limit = get_settings().message_max_chars
        if len(value) > limit:
            raise ValueError(f"must be at most {limit} characters")
        return value


class AssignIn(JsonIn):
    assignee_id: Id | None


class TagsIn(JsonIn):
    tags: list[str] = Field(max_length=50)


class TransferIn(JsonIn):
    queue_id: Id
    note: str = Field(default="", max_length=10_000)
