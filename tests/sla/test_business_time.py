"""Business-time arithmetic (pure): daylight-saving changes, holidays, validation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from omniline.sla import business_time as bt
from omniline.sla.business_time import CalendarError

KYIV = ZoneInfo("Europe/Kyiv")
WORKDAYS = ("mon", "tue", "wed", "thu", "fri")


def office(*spans: tuple[str, str], days: tuple[str, ...] = WORKDAYS) -> dict[str, Any]:
    return {d: [{"start": s, "end": e} for s, e in spans] for d in days}


def kyiv(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=KYIV)


# Kyiv: 2026-03-29 (Sun) 03:00 EET -> 04:00 EEST; 2026-10-25 (Sun) 04:00 EEST -> 03:00 EET.
SEVEN_DAYS = office(("00:00", "24:00"), days=("mon", "tue", "wed", "thu", "fri", "sat", "sun"))
NIGHT_SHIFT = office(("02:00", "05:00"), days=("sun",))
NINE_TO_SIX = office(("09:00", "18:00"))
HOLIDAYS = [{"date": "2026-03-30", "name": "Spring holiday"}]
SHORT_DAY = [
    {"date": "2026-03-31", "name": "Short day", "hours": [{"start": "09:00", "end": "13:00"}]}
]

ADD_CASES = [
    # (name, hours, holidays, start, seconds, expected due)
    (
        "spring: the whole Sunday has 23 hours",
        SEVEN_DAYS,
        [],
        kyiv(2026, 3, 29, 0, 0),
        23 * 3600,
        kyiv(2026, 3, 30, 0, 0),
    ),
    (
        "autumn: the whole Sunday has 25 hours",
        SEVEN_DAYS,
        [],
        kyiv(2026, 10, 25, 0, 0),
        25 * 3600,
        kyiv(2026, 10, 26, 0, 0),
    ),
    (
        "spring: a 02:00-05:00 shift on the change night lasts two hours",
        NIGHT_SHIFT,
        [],
        kyiv(2026, 3, 29, 2, 0),
        2 * 3600,
        kyiv(2026, 3, 29, 5, 0),
    ),
    (
        "autumn: a 02:00-05:00 shift on the change night lasts four hours",
        NIGHT_SHIFT,
        [],
        kyiv(2026, 10, 25, 2, 0),
        4 * 3600,
        kyiv(2026, 10, 25, 5, 0),
    ),
    (
        "spring: 10 minutes before 03:00 plus 20 minutes lands after the gap",
        SEVEN_DAYS,
        [],
        kyiv(2026, 3, 29, 2, 50),
        20 * 60,
        kyiv(2026, 3, 29, 4, 10),
    ),
    (
        "autumn: one wall-clock hour after 03:30 (first time) is 03:30 again",
        SEVEN_DAYS,
        [],
        datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
        3600,
        datetime(2026, 10, 25, 1, 30, tzinfo=UTC),
    ),
    (
        "Friday evening over the weekend and across the spring change",
        NINE_TO_SIX,
        [],
        kyiv(2026, 3, 27, 17, 50),
        20 * 60,
        kyiv(2026, 3, 30, 9, 10),
    ),
    (
        "a holiday Monday is skipped",
        NINE_TO_SIX,
        HOLIDAYS,
        kyiv(2026, 3, 27, 17, 50),
        20 * 60,
        kyiv(2026, 3, 31, 9, 10),
    ),
    (
        "a short day (partial holiday) closes at 13:00",
        NINE_TO_SIX,
        SHORT_DAY,
        kyiv(2026, 3, 31, 12, 50),
        20 * 60,
        kyiv(2026, 4, 1, 9, 10),
    ),
    (
        "a target ending at closing time is due at closing time",
        NINE_TO_SIX,
        [],
        kyiv(2026, 10, 23, 17, 0),
        3600,
        kyiv(2026, 10, 23, 18, 0),
    ),
    (
        "before opening: the clock starts at opening",
        NINE_TO_SIX,
        [],
        kyiv(2026, 10, 26, 7, 0),
        600,
        kyiv(2026, 10, 26, 9, 10),
    ),
    (
        "Friday to Monday across the autumn change (offset +3 -> +2)",
        NINE_TO_SIX,
        [],
        kyiv(2026, 10, 23, 17, 30),
        3600,
        kyiv(2026, 10, 26, 9, 30),
    ),
]


@pytest.mark.parametrize(
    ("name", "hours", "holidays", "start", "seconds", "due"),
    ADD_CASES,
    ids=[c[0] for c in ADD_CASES],
)
def test_add_business_seconds(
    name: str,
    hours: dict[str, Any],
    holidays: list[Any],
    start: datetime,
    seconds: int,
    due: datetime,
) -> None:
    cal = bt.parse("Europe/Kyiv", hours, holidays)
    got = bt.add_business_seconds(cal, start, seconds)
    assert got == due
    assert got.tzinfo is not None
    # And back: the business time between them is the target.
    assert bt.business_seconds_between(cal, start, got) == seconds


BETWEEN_CASES = [
    ("spring Sunday", SEVEN_DAYS, [], kyiv(2026, 3, 29), kyiv(2026, 3, 30), 23 * 3600),
    ("autumn Sunday", SEVEN_DAYS, [], kyiv(2026, 10, 25), kyiv(2026, 10, 26), 25 * 3600),
    ("week of spring change", NINE_TO_SIX, [], kyiv(2026, 3, 27), kyiv(2026, 4, 3), 5 * 9 * 3600),
    ("with a holiday", NINE_TO_SIX, HOLIDAYS, kyiv(2026, 3, 27), kyiv(2026, 4, 3), 4 * 9 * 3600),
    ("reversed is negative", NINE_TO_SIX, [], kyiv(2026, 3, 31, 10), kyiv(2026, 3, 31, 9), -3600),
]


@pytest.mark.parametrize(
    ("name", "hours", "holidays", "a", "b", "seconds"),
    BETWEEN_CASES,
    ids=[c[0] for c in BETWEEN_CASES],
)
def test_business_seconds_between(
    name: str, hours: dict[str, Any], holidays: list[Any], a: datetime, b: datetime, seconds: int
) -> None:
    assert bt.business_seconds_between(bt.parse("Europe/Kyiv", hours, holidays), a, b) == seconds


@pytest.mark.parametrize(
    ("at", "open_"),
    [
        (kyiv(2026, 3, 27, 8, 59), False),
        (kyiv(2026, 3, 27, 9, 0), True),
        (kyiv(2026, 3, 27, 17, 59), True),
        (kyiv(2026, 3, 27, 18, 0), False),
        (kyiv(2026, 3, 28, 12, 0), False),  # Saturday
        (kyiv(2026, 3, 30, 12, 0), False),  # holiday
        (kyiv(2026, 3, 31, 12, 59), True),  # short day
        (kyiv(2026, 3, 31, 13, 0), False),
        (datetime(2026, 10, 26, 7, 0, tzinfo=UTC), True),  # 09:00 EET, after the change
        (datetime(2026, 10, 23, 6, 0, tzinfo=UTC), True),  # 09:00 EEST, before it
        (datetime(2026, 10, 23, 5, 59, tzinfo=UTC), False),
    ],
)
def test_is_business_time(at: datetime, open_: bool) -> None:
    cal = bt.parse("Europe/Kyiv", NINE_TO_SIX, HOLIDAYS + SHORT_DAY)
    assert bt.is_business_time(cal, at) is open_


def test_naive_times_are_refused() -> None:
    cal = bt.parse("Europe/Kyiv", NINE_TO_SIX)
    with pytest.raises(ValueError, match="naive"):
        bt.is_business_time(cal, datetime(2026, 3, 27, 10))


def test_a_calendar_closed_by_holidays_has_no_due_time() -> None:
    cal = bt.parse("UTC", office(("09:00", "10:00"), days=("mon",)))
    closed = {d: () for d in (date_of(2026, 1, 5) + timedelta(weeks=w) for w in range(200))}
    cal = bt.BusinessHours(zone=cal.zone, week=cal.week, holidays=closed)
    with pytest.raises(ValueError, match="no working time"):
        bt.add_business_seconds(cal, datetime(2026, 1, 1, tzinfo=UTC), 60)


def date_of(y: int, m: int, d: int) -> Any:
    return datetime(y, m, d).date()


INVALID = [
    ({"timezone": "Mars/Olympus"}, "timezone", "unknown time zone"),
    ({"timezone": ""}, "timezone", "required"),
    ({"hours": {}}, "hours", "no working hours"),
    ({"hours": {"mon": []}}, "hours", "no working hours"),
    ({"hours": {"funday": [{"start": "09:00", "end": "10:00"}]}}, "hours.funday", "weekday"),
    (
        {"hours": {"mon": [{"start": "18:00", "end": "09:00"}]}},
        "hours.mon[0]",
        "end must be after the start",
    ),
    (
        {
            "hours": {
                "mon": [{"start": "09:00", "end": "13:00"}, {"start": "12:00", "end": "18:00"}]
            }
        },
        "hours.mon",
        "overlap",
    ),
    ({"hours": {"tue": [{"start": "9am", "end": "13:00"}]}}, "hours.tue[0].start", "HH:MM"),
    ({"hours": {"tue": [{"start": "09:00", "end": "24:30"}]}}, "hours.tue[0].end", "time of day"),
    ({"holidays": [{"date": "2026-02-30"}]}, "holidays[0].date", "YYYY-MM-DD"),
    (
        {"holidays": [{"date": "2026-01-01"}, {"date": "2026-01-01"}]},
        "holidays[1].date",
        "twice",
    ),
    (
        {"holidays": [{"date": "2026-01-02", "hours": [{"start": "14:00", "end": "10:00"}]}]},
        "holidays[0].hours[0]",
        "end must be after",
    ),
]


@pytest.mark.parametrize(("change", "field", "message"), INVALID)
def test_invalid_calendars_name_the_field(change: dict[str, Any], field: str, message: str) -> None:
    raw: dict[str, Any] = {"timezone": "Europe/Kyiv", "hours": NINE_TO_SIX, "holidays": []}
    raw.update(change)
    with pytest.raises(CalendarError) as err:
        bt.parse(raw["timezone"], raw["hours"], raw["holidays"])
    assert err.value.field == field
    assert message in err.value.message


def test_several_intervals_a_day_and_24_00() -> None:
    cal = bt.parse(
        "Europe/Kyiv",
        {"sat": [{"start": "20:00", "end": "24:00"}, {"start": "08:00", "end": "12:00"}]},
    )
    assert bt.add_business_seconds(cal, kyiv(2026, 3, 28, 11, 0), 2 * 3600) == kyiv(
        2026, 3, 28, 21, 0
    )
    assert bt.is_business_time(cal, kyiv(2026, 3, 28, 23, 59))
    assert not bt.is_business_time(cal, kyiv(2026, 3, 29, 0, 0))


@settings(max_examples=150, deadline=None)
@given(
    start=st.datetimes(
        min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
    ),
    seconds=st.integers(min_value=0, max_value=30 * 24 * 3600),
)
def test_add_then_measure_round_trips(start: datetime, seconds: int) -> None:
    """Across every DST change of two years: what add() gives, between() measures back."""
    cal = bt.parse("Europe/Kyiv", NINE_TO_SIX, HOLIDAYS + SHORT_DAY)
    due = bt.add_business_seconds(cal, start, seconds)
    assert due >= start
    assert bt.business_seconds_between(cal, start, due) == pytest.approx(seconds, abs=1e-6)
    if seconds > 0:
        assert bt.is_business_time(cal, due - timedelta(microseconds=1))
