"""Request bodies of the SLA API. Deep checks (intervals, zones) are the service's."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from omniline.kit.ids import Id, Number


class CalendarIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    timezone: str = Field(min_length=1, max_length=64)
    # {"mon": [{"start": "09:00", "end": "18:00"}], ...}
    hours: dict[str, Any] = Field(default_factory=dict)
    # [{"date": "2026-01-01", "name": "New Year", "hours": []}]
    holidays: list[Any] = Field(default_factory=list, max_length=1000)


class PolicyIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    queue_id: Id
    calendar_id: Id | None = None
    active: bool = True
    first_response_seconds: Number | None = None
    next_response_seconds: Number | None = None
    resolution_seconds: Number | None = None
    warning_share: float = 0.8
    warning_actions: list[str] = Field(default_factory=lambda: ["notify"], max_length=3)
    breach_actions: list[str] = Field(
        default_factory=lambda: ["notify", "tag", "webhook"], max_length=3
    )
    warning_tag: str | None = Field(default=None, max_length=64)
    breach_tag: str | None = Field(default=None, max_length=64)
