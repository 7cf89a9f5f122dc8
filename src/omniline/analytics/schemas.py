"""What callers pass to the analytics service: filters, period kinds, dimensions."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from omniline.kit.fields import NOT_BLANK, STRIP
from omniline.kit.ids import Id

By = Literal["hour", "day", "week", "month"]
Dimension = Literal["channel", "inbox", "queue", "team", "agent", "country", "language", "tag"]
MAX_DAYS = 366

# Spaces around are dropped; a blank text is refused (the schema's pattern says so).
Text = Annotated[
    str,
    STRIP,
    StringConstraints(min_length=1, max_length=64),
    Field(json_schema_extra={"pattern": NOT_BLANK}),
]


class Filters(BaseModel):
    """Only conversations matching every given field are counted (None: any)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    channel: Text | None = None
    inbox_id: Id | None = None
    queue_id: Id | None = None
    team_id: Id | None = None
    agent_id: Id | None = None
    country: Annotated[str, StringConstraints(min_length=2, max_length=2)] | None = None
    language: Annotated[str, StringConstraints(min_length=1, max_length=8)] | None = None
    tag: Text | None = None


# The figures of every period, row and total, in this order (docs/metrics.md).
METRICS = (
    "offered",
    "answered",
    "abandoned",
    "short_abandoned",
    "service_level",
    "asa_s",
    "aht_s",
    "abandon_rate",
    "answer_rate",
    "frt_s",
    "frt_business_s",
    "art_s",
    "resolution_s",
    "resolved",
    "resolution_rate",
    "unresolved",
    "unfinished",
    "messages_avg",
    "duration_avg_s",
    "new_contacts",
    "bot_contained",
    "bot_containment",
    "transfers",
    "transfer_rate",
    "csat",
    "csi",
    "nps",
    "csat_n",
    "nps_n",
    "occupancy",
    "sla_attainment",
    "conversations",
)

HeatmapMetric = Literal[
    "offered",
    "answered",
    "abandoned",
    "conversations",
    "service_level",
    "asa_s",
    "aht_s",
    "abandon_rate",
    "answer_rate",
    "frt_s",
    "new_contacts",
]

Seconds = Annotated[int, Field(ge=0, le=86400)]
