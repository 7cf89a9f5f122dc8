from __future__ import annotations

from pydantic import BaseModel, Field, field_validator


class ReplyIn(BaseModel):
    text: str = Field(max_length=10_000)
    private: bool = False

    @field_validator("text")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value


class AssignIn(BaseModel):
    assignee_id: int | None


class TagsIn(BaseModel):
    tags: list[str] = Field(max_length=50)
