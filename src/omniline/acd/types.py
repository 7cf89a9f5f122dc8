"""The ACD engine's inputs (queue settings, waiting calls) and outputs (actions).

Times are floats of seconds on the caller's clock; the engine never reads a clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Strategy = Literal["longest_idle", "round_robin", "least_loaded", "ring_all"]


@dataclass(slots=True)
class QueueSpec:
    id: int
    strategy: Strategy = "longest_idle"
    service_level_s: float = 20.0
    overflow_after_s: float | None = None  # after N s waiting in this queue: Overflow action
    overflow_to_queue: int | None = None  # either another queue ...
    overflow_to_number: str | None = None  # ... or an external number (bank's internal centre)
    max_wait_s: float | None = None  # after N s waiting in this queue: Expire action
    ring_timeout_s: float = 20.0  # an offer not answered in time goes to the next agent
    # An agent who declined a call (or let it ring out) is not offered that same call
    # again for this long; other calls may still be offered to them at once.
    skip_declined_s: float = 30.0


@dataclass(slots=True)
class Waiting:
    """A call, or a callback request, waiting in a queue."""

    id: str
    queue_id: int
    entered_at: float  # place in line; a callback keeps its caller's original entry time
    priority: int = 0  # higher is served first; FIFO by entered_at within a priority
    skills: frozenset[str] = frozenset()  # the agent must have all of them
    kind: Literal["call", "callback"] = "call"


@dataclass(frozen=True, slots=True)
class Offer:
    """Ring these agents (several only for ring_all; a later Offer for the same call adds)."""

    call_id: str
    agent_ids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Overflow:
    """The call left its queue: into ``to_queue`` (the engine has queued it there already,
    keeping its place in line) or out to ``to_number`` (the engine has forgotten it)."""

    call_id: str
    to_queue: int | None
    to_number: str | None


@dataclass(frozen=True, slots=True)
class Expire:
    """The queue's max wait was reached; the engine has forgotten the call."""

    call_id: str


@dataclass(frozen=True, slots=True)
class Release:
    """Stop ringing these agents for this call (ring_all others, timeouts, hang-ups)."""

    call_id: str
    agent_ids: tuple[int, ...]


Action = Offer | Overflow | Expire | Release
