"""Per-call records of a call centre in the "Anonymous Bank" format (Technion SEE data).

Tab-separated, 17 columns, a header line, CRLF line ends::

    vru+line call_id customer_id priority type date vru_entry vru_exit vru_time
    q_start q_exit q_time outcome ser_start ser_exit ser_time server

``date`` is YYMMDD (19YY), times are H:MM:SS of the day with ``0:00:00`` meaning "did not
happen" (so an event at exactly midnight reads as missing: the format cannot tell),
``*_time`` are seconds. A row that does not fit (shifted fields, bad numbers) is
counted and skipped with its line number; reading never fails on a row.

``queued_calls`` turns records into the calls that entered the queue (see
docs/metrics.md, "Voice"), on one clock: seconds since midnight of the file's first day.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

COLUMNS = 17
OUTCOMES = frozenset({"AGENT", "HANG", "PHANTOM"})
DAY = 86_400
NO_SERVER = "NO_SERVER"


@dataclass(frozen=True, slots=True)
class CallRecord:
    line: int  # line number in the file, 1-based (the header is line 1)
    call_id: str
    priority: int  # 0/1 regular or unidentified, 2 priority customer
    type: str  # PS, PE, IN, NE, NW, TT
    date: date
    vru_entry: int | None  # seconds of the day; None when 0:00:00 (did not happen)
    vru_exit: int | None
    q_start: int | None
    q_time: int
    outcome: str  # AGENT (served), HANG (hung up), PHANTOM
    ser_start: int | None
    ser_time: int
    server: str  # NO_SERVER when nobody served
    vru_line: str = ""  # the menu's line the call came in on (AA0101...)
    customer_id: str = ""  # the bank's customer number; "0" when unidentified
    vru_time: int = 0  # seconds in the menu


@dataclass(frozen=True, slots=True)
class Malformed:
    line: int
    reason: str


@dataclass(slots=True)
class ParsedFile:
    records: list[CallRecord] = field(default_factory=list)
    malformed: list[Malformed] = field(default_factory=list)
    rows: int = 0  # data rows read, good and malformed


@dataclass(frozen=True, slots=True)
class QueuedCall:
    """A call that entered the queue (an *offered* call)."""

    call_id: str
    day: date  # the day it entered the queue
    entered: float  # seconds since midnight of the file's first day
    priority: int
    type: str
    answered: bool  # else abandoned: hung up while queued
    wait: float  # recorded seconds in queue (0 for a call answered straight from the menu)
    service: float  # recorded seconds of service (0 when abandoned)
    server: str | None  # who served it (NO_SERVER included); None when abandoned


def parse_time(text: str) -> int | None:
    """``H:MM:SS`` to seconds of the day; ``0:00:00`` (did not happen) to None."""
    h, m, s = text.split(":")
    if len(m) != 2 or len(s) != 2:
        raise ValueError(f"bad time {text!r}")
    hours, minutes, seconds = int(h), int(m), int(s)
    if not (0 <= hours < 24 and minutes < 60 and seconds < 60):
        raise ValueError(f"bad time {text!r}")
    total = hours * 3600 + minutes * 60 + seconds
    return total or None


def parse_row(fields: list[str], line: int) -> CallRecord:
    if len(fields) != COLUMNS:
        raise ValueError(f"{len(fields)} fields instead of {COLUMNS}")
    outcome = fields[12]
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown outcome {outcome!r}")
    priority = int(fields[3])
    if priority not in (0, 1, 2):
        raise ValueError(f"priority {fields[3]!r}")
    day = fields[5]
    if len(day) != 6 or not day.isdigit():
        raise ValueError(f"bad date {day!r}")
    return CallRecord(
        line=line,
        call_id=fields[1],
        priority=priority,
        type=fields[4],
        date=date(1900 + int(day[:2]), int(day[2:4]), int(day[4:])),
        vru_entry=parse_time(fields[6]),
        vru_exit=parse_time(fields[7]),
        q_start=parse_time(fields[9]),
        q_time=int(fields[11]),
        outcome=outcome,
        ser_start=parse_time(fields[13]),
        ser_time=int(fields[15]),
        server=fields[16],
        vru_line=fields[0],
        customer_id=_customer_id(fields[2]),
        vru_time=int(fields[8]),
    )


def _customer_id(text: str) -> str:
    # Kept as written: some numbers went through a spreadsheet (6.02082E+11) and can no
    # longer be told apart; they still name one customer each as far as the file goes.
    text = text.strip()
    return str(int(text)) if text.isdigit() else text


def parse_lines(
    lines: Iterable[str], progress: Callable[[int], None] | None = None, every: int = 10_000
) -> ParsedFile:
    """Parse the file's lines (header first). ``progress(rows)`` is called every ``every`` rows."""
    parsed = ParsedFile()
    for number, raw in enumerate(lines, start=1):
        text = raw.rstrip("\r\n")
        if number == 1 and text.startswith("vru+line"):
            continue
        if not text.strip():
            continue
        parsed.rows += 1
        try:
            parsed.records.append(parse_row(text.split("\t"), number))
        except ValueError as exc:
            parsed.malformed.append(Malformed(number, str(exc)))
        if progress is not None and parsed.rows % every == 0:
            progress(parsed.rows)
    return parsed


def read_records(path: Path, progress: Callable[[int], None] | None = None) -> ParsedFile:
    with path.open(encoding="latin-1", newline="") as f:
        return parse_lines(f, progress)


def queued_calls(records: Iterable[CallRecord]) -> list[QueuedCall]:
    """The offered calls, in order of queue entry. Not offered: PHANTOM calls, and HANG
    calls that never reached the queue (q_start 0:00:00). An AGENT call with q_start
    0:00:00 went from the menu straight to a free agent: offered, waited 0 s, entered
    the queue when it left the menu (vru_exit)."""
    records = list(records)
    if not records:
        return []
    origin = min(r.date for r in records)
    calls = [c for r in records if (c := _queued(r, origin)) is not None]
    calls.sort(key=lambda c: (c.entered, c.call_id))
    return calls


def queued_of(r: CallRecord) -> QueuedCall | None:
    """One record as an offered call on the clock of its own day (``entered`` may pass
    86,400 when it entered the queue after midnight); None when it was not offered."""
    return _queued(r, r.date)


def _queued(r: CallRecord, origin: date) -> QueuedCall | None:
    if r.outcome == "PHANTOM" or (r.outcome == "HANG" and r.q_start is None):
        return None
    answered = r.outcome == "AGENT"
    entry = r.q_start if r.q_start is not None else (r.vru_exit or r.ser_start)
    if entry is None:
        return None  # no time at all for the queue: nothing to place on the clock
    # A queue entry earlier in the day than the call's start by more than half a day
    # happened after midnight (small backwards steps are clock skew between systems).
    if r.vru_entry is not None and entry < r.vru_entry - DAY // 2:
        entry += DAY
    entered = (r.date - origin).days * DAY + entry
    return QueuedCall(
        call_id=r.call_id,
        day=origin + timedelta(days=entered // DAY),
        entered=float(entered),
        priority=r.priority,
        type=r.type,
        answered=answered,
        wait=float(max(0, r.q_time) if r.q_start is not None else 0),
        service=float(max(0, r.ser_time)) if answered else 0.0,
        server=r.server if answered else None,
    )
