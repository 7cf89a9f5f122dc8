"""One per-call record (``omniline.acd.records``) as the times of a stored call.

Pure functions, no database: the importer turns each record into these times and the rows
of a conversation and a voice call. The record's times are wall-clock times of the
centre, read in ``tz``; a time earlier than the call's menu entry by more than 12 hours is
taken as past midnight (the same rule as the replay). What counts as offered, answered and
abandoned is docs/metrics.md, "Voice", and the code is ``records.queued_of``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from omniline.acd.records import DAY, CallRecord, queued_of
from omniline.channels.voice.models import EndReason

SHORT_ABANDON_S = 5.0


@dataclass(frozen=True, slots=True)
class CallTimes:
    arrived_at: datetime
    queued_at: datetime | None  # None: never offered (ended in the menu, or a ghost call)
    answered_at: datetime | None
    ended_at: datetime
    end_reason: str
    short_abandon: bool


def source_key(r: CallRecord) -> str:
    """Each menu line (VRU) numbers its calls itself: the same call id comes back on
    another line, and the numbers restart; line, id and day name one call."""
    return f"{r.vru_line}:{r.call_id}:{r.date.isoformat()}"


def _local(day: date, seconds: float, tz: ZoneInfo) -> datetime:
    """Seconds since the local midnight of ``day`` (may pass a day) as aware UTC."""
    whole = int(seconds)
    d = day + timedelta(days=whole // DAY)
    rest = whole % DAY
    wall = datetime.combine(d, time(rest // 3600, rest % 3600 // 60, rest % 60), tzinfo=tz)
    return (wall + timedelta(seconds=seconds - whole)).astimezone(UTC)


def _after(start: int | None, value: int | None) -> int | None:
    """A time of the day on the clock of the call's first day (past midnight adds a day)."""
    if value is None:
        return None
    if start is not None and value < start - DAY // 2:
        return value + DAY
    return value


def times_of(r: CallRecord, tz: ZoneInfo) -> CallTimes:
    start = r.vru_entry
    queued = queued_of(r)
    first = start if start is not None else (queued.entered if queued else None)
    arrived = _local(r.date, first or 0, tz)
    if queued is not None:
        queued_at = _local(r.date, queued.entered, tz)
        left_queue = queued_at + timedelta(seconds=queued.wait)
        if queued.answered:
            return CallTimes(
                arrived,
                queued_at,
                left_queue,
                left_queue + timedelta(seconds=queued.service),
                EndReason.answered.value,
                False,
            )
        return CallTimes(
            arrived,
            queued_at,
            None,
            left_queue,
            EndReason.abandoned.value,
            queued.wait < SHORT_ABANDON_S,
        )
    # Not offered: it ended in the menu (HANG without a queue step) or was a ghost call.
    after = _after(start, r.vru_exit)
    exit_s: float = (first or 0) + max(0, r.vru_time) if after is None else after
    ended = max(arrived, _local(r.date, exit_s, tz))
    reason = EndReason.lost.value if r.outcome == "PHANTOM" else EndReason.ivr.value
    return CallTimes(arrived, None, None, ended, reason, False)
