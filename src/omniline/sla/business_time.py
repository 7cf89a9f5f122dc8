"""Business-time arithmetic: pure functions over a parsed calendar, correct across DST.

Working intervals are local wall-clock times of one IANA zone. Each local date's
intervals are turned into UTC instants with :mod:`zoneinfo` before any arithmetic,
so a day when the clocks jump (Europe/Kyiv: last Sunday of March and October)
simply has an hour less or more of business time. A wall time that does not exist
(the spring gap) resolves per PEP 495 to the instant the clocks jumped past it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_MINUTES = 24 * 60
# A calendar whose holidays close it for longer than this is treated as never open.
HORIZON_DAYS = 3 * 366

Span = tuple[int, int]  # minutes from local midnight, [start, end), end <= 1440


class CalendarError(ValueError):
    """A calendar that cannot work; ``field`` names the offending input."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True, slots=True)
class BusinessHours:
    """A parsed calendar. Build it with :func:`parse` (which validates)."""

    zone: ZoneInfo
    week: tuple[tuple[Span, ...], ...]  # index 0 = Monday
    holidays: Mapping[date, tuple[Span, ...]] = field(default_factory=dict)

    def spans_on(self, day: date) -> tuple[Span, ...]:
        found = self.holidays.get(day)
        return found if found is not None else self.week[day.weekday()]


def parse_minutes(value: object, field: str) -> int:
    if not isinstance(value, str) or len(value) != 5 or value[2] != ":":
        raise CalendarError(field, "use HH:MM, e.g. 09:00")
    hh, mm = value[:2], value[3:]
    if not (hh.isdigit() and mm.isdigit()):
        raise CalendarError(field, "use HH:MM, e.g. 09:00")
    minutes = int(hh) * 60 + int(mm)
    if int(mm) > 59 or minutes > DAY_MINUTES:
        raise CalendarError(field, "not a time of day (00:00 to 24:00)")
    return minutes


def format_minutes(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def parse_zone(name: object, field: str = "timezone") -> ZoneInfo:
    if not isinstance(name, str) or not name.strip():
        raise CalendarError(field, "a time zone is required, e.g. Europe/Kyiv")
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise CalendarError(field, f"unknown time zone {name!r}") from None


def parse_spans(raw: object, field: str) -> tuple[Span, ...]:
    """``[{"start": "09:00", "end": "13:00"}, ...]`` -> sorted spans; refuses overlaps."""
    if raw is None:
        return ()
    if not isinstance(raw, Sequence) or isinstance(raw, str):
        raise CalendarError(field, "expected a list of intervals")
    spans: list[Span] = []
    for i, item in enumerate(raw):
        where = f"{field}[{i}]"
        if not isinstance(item, Mapping):
            raise CalendarError(where, "expected {start, end}")
        start = parse_minutes(item.get("start"), f"{where}.start")
        end = parse_minutes(item.get("end"), f"{where}.end")
        if end <= start:
            raise CalendarError(where, "the end must be after the start")
        spans.append((start, end))
    spans.sort()
    for (s1, e1), (s2, e2) in pairwise(spans):
        if s2 < e1:
            raise CalendarError(
                field,
                f"intervals {format_minutes(s1)}-{format_minutes(e1)} and "
                f"{format_minutes(s2)}-{format_minutes(e2)} overlap",
            )
    return tuple(spans)


def parse_holidays(raw: object, field: str = "holidays") -> dict[date, tuple[Span, ...]]:
    if raw is None:
        return {}
    if not isinstance(raw, Sequence) or isinstance(raw, str):
        raise CalendarError(field, "expected a list of holidays")
    out: dict[date, tuple[Span, ...]] = {}
    for i, item in enumerate(raw):
        where = f"{field}[{i}]"
        if not isinstance(item, Mapping):
            raise CalendarError(where, "expected {date, name, hours}")
        try:
            day = date.fromisoformat(str(item.get("date")))
        except ValueError:
            raise CalendarError(f"{where}.date", "use YYYY-MM-DD") from None
        if day in out:
            raise CalendarError(f"{where}.date", f"{day.isoformat()} is listed twice")
        out[day] = parse_spans(item.get("hours") or [], f"{where}.hours")
    return out


def parse(timezone: object, hours: object, holidays: object = None) -> BusinessHours:
    """Validate and parse a stored or submitted calendar; raises :class:`CalendarError`."""
    zone = parse_zone(timezone)
    if not isinstance(hours, Mapping):
        raise CalendarError("hours", "expected working hours per weekday")
    unknown = sorted(set(hours) - set(WEEKDAYS))
    if unknown:
        raise CalendarError(f"hours.{unknown[0]}", "unknown weekday (use mon..sun)")
    week = tuple(parse_spans(hours.get(day), f"hours.{day}") for day in WEEKDAYS)
    if not any(week):
        raise CalendarError("hours", "the calendar has no working hours")
    return BusinessHours(zone=zone, week=week, holidays=parse_holidays(holidays))


def _instant(cal: BusinessHours, day: date, minutes: int) -> datetime:
    # Naive wall time first, then the zone: 24:00 becomes the next midnight's offset.
    wall = datetime(day.year, day.month, day.day) + timedelta(minutes=minutes)
    return wall.replace(tzinfo=cal.zone).astimezone(UTC)


def intervals_on(cal: BusinessHours, day: date) -> list[tuple[datetime, datetime]]:
    """The UTC instants of ``day``'s working intervals (local date), in order."""
    out = []
    for start, end in cal.spans_on(day):
        a, b = _instant(cal, day, start), _instant(cal, day, end)
        if b > a:  # a span that lies wholly in a spring-forward gap has no time
            out.append((a, b))
    return out


def _intervals_from(cal: BusinessHours, at: datetime) -> Iterator[tuple[datetime, datetime]]:
    day = _aware(at).astimezone(cal.zone).date() - timedelta(days=1)
    for offset in range(HORIZON_DAYS):
        yield from intervals_on(cal, day + timedelta(days=offset))


def _aware(at: datetime) -> datetime:
    """``at`` in UTC: arithmetic on a zone-aware datetime would follow the wall clock."""
    if at.tzinfo is None:
        raise ValueError("naive datetime given; business time needs an aware instant")
    return at.astimezone(UTC)


def is_business_time(cal: BusinessHours, at: datetime) -> bool:
    at = _aware(at)
    local_day = at.astimezone(cal.zone).date()
    return any(a <= at < b for a, b in intervals_on(cal, local_day))


def add_business_seconds(cal: BusinessHours, start: datetime, seconds: float) -> datetime:
    """The instant when ``seconds`` of business time have passed since ``start``.

    Time before the next opening does not count; a target that ends exactly at a
    closing time is due at that closing time. Raises ``ValueError`` if the calendar
    never opens within the horizon (e.g. holidays cover every working day).
    """
    start = _aware(start)
    if seconds < 0:
        raise ValueError("seconds must not be negative")
    remaining = timedelta(seconds=seconds)
    for a, b in _intervals_from(cal, start):
        if b <= start:
            continue
        begin = max(a, start)
        if remaining <= b - begin:
            return begin + remaining
        remaining -= b - begin
    raise ValueError("the calendar has no working time within the horizon")


def business_seconds_between(cal: BusinessHours, a: datetime, b: datetime) -> float:
    """Business seconds from ``a`` to ``b`` (negative when ``b`` is before ``a``)."""
    a, b = _aware(a), _aware(b)
    if b < a:
        return -business_seconds_between(cal, b, a)
    total = timedelta()
    last_day = b.astimezone(cal.zone).date()
    day = a.astimezone(cal.zone).date()
    while day <= last_day:
        for s, e in intervals_on(cal, day):
            lo, hi = max(s, a), min(e, b)
            if hi > lo:
                total += hi - lo
        day += timedelta(days=1)
    return total.total_seconds()


def always_open() -> BusinessHours:
    """24/7: what a policy without a calendar counts in."""
    full = ((0, DAY_MINUTES),)
    return BusinessHours(zone=ZoneInfo("UTC"), week=(full,) * 7)
