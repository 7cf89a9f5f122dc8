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

from omniline.analytics.schemas import By, Dimension, Filters
from omniline.kit.ids import Id
from omniline.reports.targets import DEFAULTS

MAX_SECONDS = 86_400.0


class TargetsIn(BaseModel):
    """``{"targets": {"service_level": 0.85, "asa_s": null}}``: null puts the default back."""

    model_config = ConfigDict(extra="forbid")

    targets: dict[str, StrictFloat | None] = Field(min_length=1, max_length=len(DEFAULTS))

    @field_validator("targets")
    @classmethod
    def _known_and_in_range(cls, value: dict[str, float | None]) -> dict[str, float | None]:
        for metric, v in value.items():
            if metric not in DEFAULTS:
                known = ", ".join(sorted(DEFAULTS))
                raise ValueError(f"{metric!r} has no target; known: {known}")
            if v is None:
                continue
            top = 1.0 if DEFAULTS[metric][2] == "ratio" else MAX_SECONDS
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
    hour: StrictInt = Field(ge=0, le=23)
    recipients: list[Email] = Field(min_length=1, max_length=20)
    inbox_id: Id  # the email inbox whose SMTP server sends it


class SavedReportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    shared: StrictBool = False
    preset: Preset = "last7"
    by: By = "day"
    dimension: Dimension = "agent"
    filters: Filters = Filters()
    schedule: ScheduleIn | None = None
