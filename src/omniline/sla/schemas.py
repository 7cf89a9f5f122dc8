"""Request bodies of the SLA API. Deep checks (intervals, zones) are the service's, in its
own words; the schema describes the same limits, so a client that follows it is not refused
(overlapping intervals and names already taken are the only refusals it cannot describe)."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field
from pydantic.json_schema import JsonDict

from omniline.kit.fields import ZONES, JsonIn, NotBlank
from omniline.kit.ids import Id, Number
from omniline.sla.actions import ACTIONS
from omniline.sla.business_time import WEEKDAYS

TARGET_FIELDS = ("first_response_seconds", "next_response_seconds", "resolution_seconds")
MAX_TARGET = 365 * 24 * 3600
# 00:00 to 24:00
_TIME: JsonDict = {"type": "string", "pattern": "^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$"}
_SPANS: JsonDict = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["start", "end"],
        "properties": {"start": _TIME, "end": _TIME},
    },
}
_HOURS: JsonDict = {
    "type": "object",
    "properties": {d: _SPANS for d in WEEKDAYS},
    "additionalProperties": False,
    # Open on at least one day.
    "anyOf": [{"required": [d], "properties": {d: {"minItems": 1}}} for d in WEEKDAYS],
}
_HOLIDAY: JsonDict = {
    "type": "object",
    "required": ["date"],
    "properties": {
        "date": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$", "format": "date"},
        "name": {"type": "string"},
        "hours": {"anyOf": [_SPANS, {"type": "null"}]},
    },
}
_TARGET: JsonDict = {"minimum": 1, "maximum": MAX_TARGET}
_ACTIONS: JsonDict = {"items": {"type": "string", "enum": list(ACTIONS)}}


class CalendarIn(JsonIn):
    name: NotBlank = Field(min_length=1, max_length=200)
    timezone: str = Field(min_length=1, max_length=64, json_schema_extra=ZONES)
    # {"mon": [{"start": "09:00", "end": "18:00"}], ...}
    hours: dict[str, Any] = Field(json_schema_extra=_HOURS)
    # [{"date": "2026-01-01", "name": "New Year", "hours": []}]
    holidays: list[Any] = Field(
        default_factory=list, max_length=1000, json_schema_extra={"items": _HOLIDAY}
    )


class PolicyIn(JsonIn):
    # At least one target.
    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [
                {"required": [f], "properties": {f: {"not": {"type": "null"}}}}
                for f in TARGET_FIELDS
            ]
        }
    )

    name: NotBlank = Field(min_length=1, max_length=200)
    queue_id: Id
    calendar_id: Id | None = None
    active: bool = True
    first_response_seconds: Number | None = Field(default=None, json_schema_extra=_TARGET)
    next_response_seconds: Number | None = Field(default=None, json_schema_extra=_TARGET)
    resolution_seconds: Number | None = Field(default=None, json_schema_extra=_TARGET)
    warning_share: float = Field(
        default=0.8, json_schema_extra={"exclusiveMinimum": 0, "exclusiveMaximum": 1}
    )
    warning_actions: list[str] = Field(
        default_factory=lambda: ["notify"], max_length=3, json_schema_extra=_ACTIONS
    )
    breach_actions: list[str] = Field(
        default_factory=lambda: ["notify", "tag", "webhook"],
        max_length=3,
        json_schema_extra=_ACTIONS,
    )
    warning_tag: str | None = Field(default=None, max_length=64)
    breach_tag: str | None = Field(default=None, max_length=64)
