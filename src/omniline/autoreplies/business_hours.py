"""What auto-replies need from the SLA domain: open or closed, the promise, the hours in words.

``omniline.sla`` is imported lazily so auto-replies keep working (without out-of-hours
replies or SLA variables) where that domain is not installed.
"""

from __future__ import annotations

import importlib
import logging
import math
from datetime import datetime
from types import ModuleType
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.errors import DomainError

log = logging.getLogger(__name__)

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_LABELS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _sla(module: str) -> ModuleType | None:
    try:
        return importlib.import_module(f"omniline.sla.{module}")
    except ImportError:
        return None


def available() -> bool:
    return _sla("calendars") is not None


async def calendar_exists(session: AsyncSession, workspace_id: int, calendar_id: int) -> bool:
    calendars = _sla("calendars")
    if calendars is None:
        return False
    try:
        await calendars.get_calendar(session, calendar_id, workspace_id)
    except DomainError:
        return False
    return True


async def calendars_of(session: AsyncSession, workspace_id: int) -> list[tuple[int, str]]:
    models = _sla("models")
    if models is None:
        return []
    cal = models.BusinessCalendar
    stmt = select(cal.id, cal.name).where(cal.workspace_id == workspace_id).order_by(cal.name)
    return [(int(i), str(n)) for i, n in (await session.execute(stmt)).all()]


async def is_open(session: AsyncSession, calendar_id: int, at: datetime) -> bool | None:
    """None when it cannot be known (no SLA domain, the calendar was deleted)."""
    calendars = _sla("calendars")
    if calendars is None:
        return None
    try:
        return bool(await calendars.is_business_time(session, calendar_id, at))
    except DomainError:
        log.warning("auto-reply calendar %s is gone; treated as open", calendar_id)
        return None


async def _policy(session: AsyncSession, queue_id: int | None) -> Any:
    models = _sla("models")
    if models is None or queue_id is None:
        return None
    pol = models.SlaPolicy
    return await session.scalar(
        select(pol).where(pol.queue_id == queue_id, pol.active.is_(True)).limit(1)
    )


async def sla_minutes(session: AsyncSession, queue_id: int | None) -> int | None:
    """The queue's first-response promise in whole minutes (rounded up)."""
    policy = await _policy(session, queue_id)
    seconds = getattr(policy, "first_response_seconds", None)
    return math.ceil(seconds / 60) if seconds else None


def describe(hours: dict[str, Any], timezone: str) -> str:
    """Working hours in words: ``"Mon-Fri 08:00-20:00 (Europe/Kyiv)"``.

    Consecutive days with the same hours are joined into one range.
    """
    spans = [
        ", ".join(f"{s.get('start', '')}-{s.get('end', '')}" for s in hours.get(day) or [])
        for day in DAYS
    ]
    parts: list[str] = []
    i = 0
    while i < len(DAYS):
        j = i
        while j + 1 < len(DAYS) and spans[j + 1] == spans[i]:
            j += 1
        if spans[i]:
            days = DAY_LABELS[i] if i == j else f"{DAY_LABELS[i]}-{DAY_LABELS[j]}"
            parts.append(f"{days} {spans[i]}")
        i = j + 1
    return f"{'; '.join(parts)} ({timezone})" if parts else ""


async def hours_text(
    session: AsyncSession, calendar_id: int | None, queue_id: int | None
) -> str | None:
    """The working hours in words: the rule's calendar, else the queue's SLA calendar."""
    calendars = _sla("calendars")
    if calendars is None:
        return None
    if calendar_id is None:
        calendar_id = getattr(await _policy(session, queue_id), "calendar_id", None)
    if calendar_id is None:
        return None
    try:
        cal = await calendars.get_calendar(session, calendar_id)
    except DomainError:
        return None
    return describe(cal.hours or {}, cal.timezone) or None
