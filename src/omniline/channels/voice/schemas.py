"""Request bodies of the voice API (strict JSON)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field, StringConstraints

from omniline.kit.fields import JsonIn
from omniline.kit.ids import WHOLE, Id

PhoneText = Annotated[
    str, StringConstraints(min_length=3, max_length=40, pattern=r"^\+?[0-9 ()-]+$")
]


class TransferIn(JsonIn):
    to_number: PhoneText | None = None
    to_queue_id: Id | None = None


class WrapUpIn(JsonIn):
    disposition: Annotated[str, StringConstraints(max_length=64)] | None = None
    notes: Annotated[str, StringConstraints(max_length=5000)] | None = None


class CallbackIn(JsonIn):
    inbox_id: Id
    number: PhoneText
    queue_id: Id | None = None
    contact_id: Id | None = None


class AgentPhoneIn(JsonIn):
    endpoint: Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^\S+$")]
    skills: list[Annotated[str, StringConstraints(min_length=1, max_length=32)]] = Field(
        default_factory=list, max_length=50
    )


class VoiceQueueIn(JsonIn):
    """A queue overflows to another queue or to a number, never both: the schema says so with
    an ``anyOf`` (one of the two left out or null). An overflow to the queue itself is refused
    with 422 (the path and a field together: schemathesis.toml)."""

    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [
                {"properties": {"overflow_to_queue_id": {"type": "null"}}},
                {"properties": {"overflow_to_number": {"type": "null"}}},
            ]
        }
    )

    strategy: Literal["longest_idle", "round_robin", "least_loaded", "ring_all"] = "longest_idle"
    service_level_s: Annotated[int, Field(ge=1, le=3600), WHOLE] = 20
    service_level_target: Annotated[float, Field(ge=0, le=1)] = 0.8
    ring_timeout_s: Annotated[int, Field(ge=5, le=120), WHOLE] = 20
    overflow_after_s: Annotated[int, Field(ge=1, le=86400), WHOLE] | None = None
    overflow_to_queue_id: Id | None = None
    overflow_to_number: PhoneText | None = None
    max_wait_s: Annotated[int, Field(ge=1, le=86400), WHOLE] | None = None
    announce_every_s: Annotated[int, Field(ge=10, le=3600), WHOLE] | None = 30
