"""Local periods (hour, day, week, month) as runs of 15-minute UTC buckets, DST-safe.

Every zone in the tz database is a whole number of quarter hours from UTC, so a local
period starts on a bucket boundary: a DST day is 92 or 100 buckets, not 96, and nothing is
shared between two periods.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from omniline.analytics.schemas import By
from omniline.errors import Invalid

BUCKET_S = 900


def bucket_of(at: datetime) -> int:
    """The bucket number of an aware instant."""
    return int(at.timestamp()) // BUCKET_S


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as e:
        raise Invalid("tz", f"unknown time zone: {name}") from e


def bounds(start: date, end: date, tz: ZoneInfo) -> tuple[int, int]:
    """Buckets [first, past-last) of local days start..end inclusive."""
    lo = datetime.combine(start, time(), tz)
    hi = datetime.combine(end + timedelta(days=1), time(), tz)
    return bucket_of(lo), bucket_of(hi)


def local(q: int, tz: ZoneInfo) -> datetime:
    return datetime.fromtimestamp(q * BUCKET_S, UTC).astimezone(tz)


def period_key(q: int, by: By, tz: ZoneInfo) -> str:
    at = local(q, tz)
    if by == "hour":
        return at.replace(minute=0, second=0, microsecond=0).isoformat()
    d = at.date()
    if by == "week":
        d -= timedelta(days=d.weekday())
    elif by == "month":
        d = d.replace(day=1)
    return d.isoformat()


def period_keys(lo: int, hi: int, by: By, tz: ZoneInfo) -> dict[int, str]:
    """Bucket -> period key for every bucket of the range, in order."""
    return {q: period_key(q, by, tz) for q in range(lo, hi)}
