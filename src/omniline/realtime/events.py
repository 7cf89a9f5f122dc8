"""Realtime event envelope and its audience (who may receive it)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(slots=True)
class Audience:
    """Who receives an event. Access rules are applied by :mod:`omniline.auth.access`.

    Staff of ``workspace_id`` who may see ``queue_id`` (or are the assignee) get
    ``data``; other staff of the workspace get ``locked_data`` when it is set.
    Widget sessions of ``contact_id`` in ``inbox_id`` get ``contact_data`` when set.
    With ``user_id`` set, only that staff member gets ``data`` (a personal notice: a mention).
    """

    workspace_id: int
    queue_id: int | None = None
    assignee_id: int | None = None
    staff: bool = True
    locked_data: dict[str, Any] | None = None
    contact_id: int | None = None
    inbox_id: int | None = None
    contact_data: dict[str, Any] | None = None
    # Staff roles allowed to receive it (e.g. SLA alerts for supervisors and admins);
    # ``None``: every role that may see the queue.
    roles: list[str] | None = None
    user_id: int | None = None


@dataclass(slots=True)
class RealtimeEvent:
    type: str
    data: dict[str, Any]
    audience: Audience
    id: str = ""
    # Frames pre-rendered once per variant, so a push to 5,000 sockets is cheap.
    _frames: dict[str, str] = field(default_factory=dict, repr=False, compare=False)

    def to_wire(self) -> dict[str, Any]:
        return {"type": self.type, "data": self.data, "audience": asdict(self.audience)}

    @classmethod
    def from_wire(cls, raw: dict[str, Any], event_id: str) -> RealtimeEvent:
        return cls(
            type=raw["type"], data=raw["data"], audience=Audience(**raw["audience"]), id=event_id
        )


def parse_event_id(value: str) -> tuple[int, int]:
    """Event ids are ``N`` (in-process bus) or ``MS-SEQ`` (Redis stream); both order as tuples."""
    head, _, tail = value.partition("-")
    return int(head), int(tail or 0)
