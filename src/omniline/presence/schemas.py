"""Request bodies of the presence API."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class PresenceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: str = Field(min_length=1, max_length=16)
