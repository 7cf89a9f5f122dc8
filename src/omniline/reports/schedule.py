"""When a scheduled report is mailed next, and which days it covers.

Times are the workspace's local time: "daily at 8" is 08:00 in its zone, also across a
daylight saving change (an hour that does not exist that day moves forward, as the
zone's rules say). Weekly runs on Mondays, monthly on the 1st.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo


def next_run(every: str, hour: int, zone: str, after: datetime) -> datetime:
    """The first run strictly after ``after`` (aware), as aware UTC."""
    tz = ZoneInfo(zone)
    local = after.astimezone(tz)
    day = local.date()
    for _ in range(400):
        if _runs_on(every, day):
            at = datetime(day.year, day.month, day.day, hour, tzinfo=tz).astimezone(UTC)
            if at > after:
                return at
        day += timedelta(days=1)
    raise ValueError(f"no run of {every!r} within 400 days")


def _runs_on(every: str, day: date) -> bool:
    if every == "daily":
        return True
    if every == "weekly":
        return day.weekday() == 0
    return day.day == 1


def period_of(preset: str, today: date) -> tuple[date, date]:
    """The days a preset covers, ``today`` being the local day of the run."""
    if preset == "today":
        return today, today
    if preset == "yesterday":
        y = today - timedelta(days=1)
        return y, y
    if preset == "this_month":
        return today.replace(day=1), today
    if preset == "last_month":
        end = today.replace(day=1) - timedelta(days=1)
        return end.replace(day=1), end
    return today - timedelta(days=6), today
