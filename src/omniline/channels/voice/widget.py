""" "Call me back" from the web chat: a visitor leaves a number, the phone line calls them
back when an agent is free (the same callback list as callers who hung up waiting)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.auth.deps import CurrentVisitor, SessionDep
from omniline.channels.voice import callbacks
from omniline.channels.voice.config import VoiceSettings
from omniline.channels.voice.models import VoiceCallback
from omniline.channels.voice.schemas import PhoneText
from omniline.contacts.models import Contact
from omniline.contacts.phones import normalize_phone
from omniline.contacts.service import link_phone
from omniline.errors import Invalid, NotFound
from omniline.inboxes.models import Inbox
from omniline.kit.clock import utcnow
from omniline.kit.fields import JsonIn
from omniline.kit.routing import router as make_router

router = make_router(prefix="/api/v1/widget", tags=["widget"])


class WidgetCallbackIn(JsonIn):
    phone: PhoneText


async def phone_line(session: AsyncSession, workspace_id: int) -> Inbox | None:
    """The workspace's phone line that calls web visitors back (the first enabled one)."""
    found: Inbox | None = await session.scalar(
        select(Inbox)
        .where(
            Inbox.workspace_id == workspace_id,
            Inbox.channel == "voice",
            Inbox.enabled.is_(True),
        )
        .order_by(Inbox.id)
        .limit(1)
    )
    return found


@router.post("/callback", status_code=201)
async def widget_callback(
    body: WidgetCallbackIn, visitor: CurrentVisitor, session: SessionDep
) -> dict[str, Any]:
    """Book a callback for the visitor; one waiting request per customer is enough (a repeat
    answers with the one already booked)."""
    line = await phone_line(session, visitor.workspace_id)
    if line is None:
        raise NotFound("this website does not offer callbacks")
    settings = VoiceSettings.of(line.settings)
    number = normalize_phone(body.phone, settings.region)
    if number is None:
        raise Invalid("phone", "not a phone number we can call")
    contact = await session.get(Contact, visitor.contact_id)
    if contact is None:
        raise NotFound("no such visitor")
    if not contact.phone:
        contact.phone = number
    await link_phone(session, contact, number)
    cb = await callbacks.open_request(
        session,
        workspace_id=line.workspace_id,
        inbox_id=line.id,
        queue_id=line.default_queue_id,
        contact_id=contact.id,
        conversation_id=None,
        number=number,
        reason="widget",
        place_at=utcnow(),
        priority=0,
        settings=settings,
    )
    if cb is None:
        cb = await session.scalar(
            select(VoiceCallback).where(
                VoiceCallback.inbox_id == line.id,
                VoiceCallback.contact_id == contact.id,
                VoiceCallback.status.in_(callbacks.LIVE),
            )
        )
        assert cb is not None
    return {
        "status": cb.status,
        "number": cb.number,
        "next_attempt_at": cb.next_attempt_at.isoformat(),
    }
