"""Voice queue figures, exactly as defined in docs/metrics.md ("Voice").

The same code computes the figures of recorded and of simulated calls, so the two
columns of a replay can only differ by what happened to the calls, never by arithmetic.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

SHORT_ABANDON_S = 5.0
SERVICE_LEVEL_S = 20.0


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one offered call left the queue."""

    day: date  # the day it entered the queue
    answered: bool  # else abandoned (hung up while queued)
    wait: float  # seconds in queue: until answered, or until the caller hung up


@dataclass(slots=True)
class Tally:
    offered: int = 0
    answered: int = 0
    abandoned: int = 0
    short_abandoned: int = 0
    answered_in_time: int = 0
    answered_wait: float = 0.0

    def add(self, o: Outcome, short_s: float, threshold_s: float) -> None:
        self.offered += 1
        if o.answered:
            self.answered += 1
            self.answered_wait += o.wait
            self.answered_in_time += o.wait <= threshold_s
        else:
            self.abandoned += 1
            self.short_abandoned += o.wait < short_s

    def figures(self) -> dict[str, Any]:
        long_abandoned = self.abandoned - self.short_abandoned
        return {
            "offered": self.offered,
            "answered": self.answered,
            "abandoned": self.abandoned,
            "short_abandoned": self.short_abandoned,
            "service_level": _ratio(self.answered_in_time, self.answered + long_abandoned),
            "asa_s": _seconds(self.answered_wait, self.answered),
            "abandon_rate": _ratio(long_abandoned, self.offered - self.short_abandoned),
        }


def voice_figures(
    outcomes: Iterable[Outcome],
    *,
    short_s: float = SHORT_ABANDON_S,
    threshold_s: float = SERVICE_LEVEL_S,
) -> dict[str, Any]:
    """Whole-period figures plus ``days``: the same figures per ISO date, in date order."""
    total = Tally()
    days: dict[date, Tally] = {}
    for o in outcomes:
        total.add(o, short_s, threshold_s)
        days.setdefault(o.day, Tally()).add(o, short_s, threshold_s)
    return total.figures() | {
        "days": {d.isoformat(): days[d].figures() for d in sorted(days)},
    }


def _ratio(part: int, whole: int) -> float | None:
    return None if whole <= 0 else round(part / whole, 4)


def _seconds(total: float, count: int) -> float | None:
    return None if count <= 0 else round(total / count, 1)
