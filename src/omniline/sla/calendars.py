"""Calendars as other domains use them: load one and ask whether it is business time.

The pure arithmetic lives in :mod:`omniline.sla.business_time`; this module reads
the stored calendar. Routing rules call :func:`is_business_time`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.errors import NotFound
from omniline.sla import business_time
from omniline.sla.business_time import BusinessHours
from omniline.sla.models import BusinessCalendar


def hours_of(cal: BusinessCalendar) -> BusinessHours:
    """Parse a stored calendar (it was validated when saved)."""
    return business_time.parse(cal.timezone, cal.hours, cal.holidays)


async def get_calendar(
    session: AsyncSession, calendar_id: int, workspace_id: int | None = None
) -> BusinessCalendar:
    """The calendar, or :class:`NotFound` (also when it belongs to another workspace)."""
    query = select(BusinessCalendar).where(BusinessCalendar.id == calendar_id)
    if workspace_id is not None:
        query = query.where(BusinessCalendar.workspace_id == workspace_id)
    cal = await session.scalar(query)
    if cal is None:
        raise NotFound("no such business-hours calendar")
    return cal


async def load_hours(session: AsyncSession, calendar_id: int | None) -> BusinessHours:
    """The parsed calendar, or 24/7 when ``calendar_id`` is ``None``."""
    if calendar_id is None:
        return business_time.always_open()
    return hours_of(await get_calendar(session, calendar_id))


async def is_business_time(session: AsyncSession, calendar_id: int, at: datetime) -> bool:
    """Whether ``at`` (an aware instant) falls in the calendar's working hours.

    Raises :class:`omniline.errors.NotFound` for an unknown calendar id; callers that
    store a calendar id should check it with :func:`get_calendar` when saving.
    """
    return business_time.is_business_time(await load_hours(session, calendar_id), at)
