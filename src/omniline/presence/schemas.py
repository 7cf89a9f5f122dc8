"""Request bodies of the presence API."""

from __future__ import annotations

from pydantic import ConfigDict, Field

from omniline.kit.fields import JsonIn
from omniline.presence.models import Presence


class PresenceIn(JsonIn):
    model_config = ConfigDict(extra="forbid")

    # The service words its own refusal of an unknown status; the schema lists them.
    status: str = Field(
        min_length=1, max_length=16, json_schema_extra={"enum": [s.value for s in Presence]}
    )
