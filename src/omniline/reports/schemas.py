"""What clients send to the reports API: targets and saved report definitions."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StringConstraints,
    field_validator,
)
from pydantic.json_schema import JsonDict

from omniline.analytics.schemas import By, Dimension, Filters
from omniline.kit.fields import NOT_BLANK, STRIP
from omniline.kit.ids import WHOLE, Id
from omniline.reports.targets import DEFAULTS

MAX_SECONDS = 86_400.0


def _target_range(metric: str) -> float:
    return 1.0 if DEFAULTS[metric][2] == "ratio" else MAX_SECONDS


# The schema of ``targets``: each metric that has a target, with its own range.
_TARGETS: JsonDict = {
    "properties": {
        metric: {"anyOf": [{"type": "number", "minimum": 0, "maximum": _target_range(metric)},
                           {"type": "null"}]}
        for metric in DEFAULTS
    },
    "additionalProperties": False,
}  # fmt: skip


class TargetsIn(BaseModel):
    """``{"targets": {"service_level": 0.85, "asa_s": null}}``: null puts the default back."""

    model_config = ConfigDict(extra="forbid")

    targets: dict[str, StrictFloat | None] = Field(
        min_length=1, max_length=len(DEFAULTS), json_schema_extra=_TARGETS
    )

    @field_validator("targets")
    @classmethod
    def _known_and_in_range(cls, value: dict[str, float | None]) -> dict[str, float | None]:
        for metric, v in value.items():
            if metric not in DEFAULTS:
                known = ", ".join(sorted(DEFAULTS))
                raise ValueError(f"{metric!r} has no target; known: {known}")
            if v is None:
                continue
            top = _target_range(metric)
            if not 0.0 <= v <= top:
                raise ValueError(f"{metric} must be between 0 and {top:g}")
        return value


Preset = Literal["today", "yesterday", "last7", "this_month", "last_month"]
Email = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
    ),
]


class ScheduleIn(BaseModel):
    """Mail the report every day, week (Mondays) or month (the 1st) at a local hour."""

    model_config = ConfigDict(extra="forbid")

    every: Literal["daily", "weekly", "monthly"]
    hour: Annotated[StrictInt, Field(ge=0, le=23), WHOLE]
    recipients: list[Email] = Field(min_length=1, max_length=20)
    inbox_id: Id  # the email inbox whose SMTP server sends it


class SavedReportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[
        str,
        STRIP,
        StringConstraints(min_length=1, max_length=100),
        Field(json_schema_extra={"pattern": NOT_BLANK}),
    ]
    shared: StrictBool = False
    preset: Preset = "last7"
    by: By = "day"
    dimension: Dimension = "agent"
    filters: Filters = Filters()
    schedule: ScheduleIn | None = None
