"""Callback requests: made when a caller gives up waiting (or asks for one), dialled when
an agent frees up, in the customer's allowed hours, with spaced retries and a maximum.

The request keeps the caller's place in line (``place_at``): in the ACD it waits as if
the caller had stayed. A customer who calls again and is answered no longer needs it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from phonenumbers import timezone as phone_timezones
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.channels.voice.config import VoiceSettings
from omniline.channels.voice.models import CallbackStatus, VoiceCallback
from omniline.kit.clock import utcnow

LIVE = (CallbackStatus.pending.value, CallbackStatus.dialing.value)


def zone_of(number: str, fallback: str) -> str:
    """The customer's time zone from their number (a single zone only), else the inbox's."""
    try:
        zones = phone_timezones.time_zones_for_number(phonenumbers.parse(number, None))
    except phonenumbers.NumberParseException:
        zones = ()
    real = [z for z in zones if z != "Etc/Unknown"]
    return real[0] if len(real) == 1 else fallback


def allowed_from(at: datetime, zone: str, settings: VoiceSettings) -> datetime:
    """``at`` if it falls in the allowed hours in ``zone``, else the next window's start."""
    try:
        tz = ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        tz = ZoneInfo("UTC")
    local = at.astimezone(tz)
    start, end = settings.callback_hours
    if start <= local.time() < end:
        return at
    day = local.date() if local.time() < start else local.date() + timedelta(days=1)
    opening = datetime.combine(day, start, tzinfo=tz)
    return opening.astimezone(at.tzinfo)


async def open_request(
    session: AsyncSession,
    *,
    workspace_id: int,
    inbox_id: int,
    queue_id: int | None,
    contact_id: int,
    conversation_id: int | None,
    number: str,
    reason: str,
    place_at: datetime,
    priority: int,
    settings: VoiceSettings,
) -> VoiceCallback | None:
    """A new request, unless the customer already has one live in this inbox (one is
    enough: a second hang-up keeps the earlier place)."""
    live = await session.scalar(
        select(VoiceCallback).where(
            VoiceCallback.inbox_id == inbox_id,
            VoiceCallback.contact_id == contact_id,
            VoiceCallback.status.in_(LIVE),
        )
    )
    if live is not None:
        return None
    zone = zone_of(number, settings.callback_timezone)
    now = utcnow()
    cb = VoiceCallback(
        workspace_id=workspace_id,
        inbox_id=inbox_id,
        queue_id=queue_id,
        contact_id=contact_id,
        conversation_id=conversation_id,
        number=number,
        reason=reason,
        place_at=place_at,
        priority=priority,
        max_attempts=settings.callback_max_attempts,
        next_attempt_at=allowed_from(now, zone, settings),
        timezone=zone,
    )
    session.add(cb)
    await session.flush()
    return cb


async def cancel_for_contact(
    session: AsyncSession, inbox_id: int, contact_id: int, *, result: str
) -> list[int]:
    """The customer got through: their pending requests are closed. Returns their ids."""
    ids = list(
        await session.scalars(
            select(VoiceCallback.id).where(
                VoiceCallback.inbox_id == inbox_id,
                VoiceCallback.contact_id == contact_id,
                VoiceCallback.status == CallbackStatus.pending.value,
            )
        )
    )
    if ids:
        await session.execute(
            update(VoiceCallback)
            .where(VoiceCallback.id.in_(ids))
            .values(status=CallbackStatus.cancelled.value, last_result=result, closed_at=utcnow())
        )
    return ids


def attempt_failed(cb: VoiceCallback, result: str, settings: VoiceSettings) -> None:
    cb.attempts += 1
    cb.last_result = result
    cb.agent_id = None
    if cb.attempts >= cb.max_attempts:
        cb.status = CallbackStatus.failed.value
        cb.closed_at = utcnow()
        return
    cb.status = CallbackStatus.pending.value
    later = utcnow() + timedelta(seconds=settings.callback_spacing_s)
    cb.next_attempt_at = allowed_from(later, cb.timezone or settings.callback_timezone, settings)


async def due(session: AsyncSession, inbox_id: int, now: datetime) -> list[VoiceCallback]:
    return list(
        await session.scalars(
            select(VoiceCallback)
            .where(
                VoiceCallback.inbox_id == inbox_id,
                VoiceCallback.status == CallbackStatus.pending.value,
                VoiceCallback.next_attempt_at <= now,
            )
            .order_by(VoiceCallback.priority.desc(), VoiceCallback.place_at)
            .limit(500)
        )
    )


async def listing(
    session: AsyncSession,
    workspace_id: int,
    queue_ids: frozenset[int] | set[int] | None,
    status: str = "live",
    limit: int = 200,
) -> list[dict[str, object]]:
    """The callback list as supervisors see it: ``status`` is live, all or one status;
    ``queue_ids`` limits it to those queues (None: every queue)."""
    from omniline.contacts.models import Contact

    stmt = select(VoiceCallback, Contact.name).join(Contact, Contact.id == VoiceCallback.contact_id)
    stmt = stmt.where(VoiceCallback.workspace_id == workspace_id)
    if status == "live":
        stmt = stmt.where(VoiceCallback.status.in_(LIVE))
    elif status != "all":
        stmt = stmt.where(VoiceCallback.status == status)
    if queue_ids is not None:
        stmt = stmt.where(VoiceCallback.queue_id.in_(sorted(queue_ids)))
    stmt = stmt.order_by(VoiceCallback.priority.desc(), VoiceCallback.place_at).limit(limit)
    return [view(cb, name) for cb, name in (await session.execute(stmt)).all()]


def view(cb: VoiceCallback, contact_name: str = "") -> dict[str, object]:
    return {
        "id": cb.id,
        "number": cb.number,
        "contact_id": cb.contact_id,
        "contact_name": contact_name,
        "queue_id": cb.queue_id,
        "conversation_id": cb.conversation_id,
        "status": cb.status,
        "reason": cb.reason,
        "attempts": cb.attempts,
        "max_attempts": cb.max_attempts,
        "place_at": cb.place_at.isoformat(),
        "next_attempt_at": cb.next_attempt_at.isoformat(),
        "last_result": cb.last_result,
        "created_at": cb.created_at.isoformat() if cb.created_at else None,
    }
