from __future__ import annotations

from pydantic import BaseModel, Field, field_validator

from omniline.config import get_settings
from omniline.kit.ids import Id


class ReplyIn(BaseModel):
    text: str
    private: bool = False

    @field_validator("text")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        limit = get_settings().message_max_chars
        if len(value) > limit:
            raise ValueError(f"must be at most {limit} characters")
        return value


class AssignIn(BaseModel):
    assignee_id: Id | None


class TagsIn(BaseModel):
    tags: list[str] = Field(max_length=50)


class TransferIn(BaseModel):
    queue_id: Id
    note: str = Field(default="", max_length=10_000)
