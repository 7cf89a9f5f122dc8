"""What clients send to the reports API: targets."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from omniline.reports.targets import DEFAULTS

MAX_SECONDS = 86_400.0


class TargetsIn(BaseModel):
    """``{"targets": {"service_level": 0.85, "asa_s": null}}``: null puts the default back."""

    model_config = ConfigDict(extra="forbid")

    targets: dict[str, float | None] = Field(min_length=1, max_length=len(DEFAULTS))

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
