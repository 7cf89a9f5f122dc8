"""Messenger's messaging windows.

A page may answer freely within 24 hours of the customer's last message. A person (not a
bot) may answer up to 7 days after it with the HUMAN_AGENT tag, when the app has that
permission (the inbox's "human agent tag" setting). After that, only the customer can
restart the conversation.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.conversations.models import Conversation, Direction, Message
from omniline.inboxes.models import Inbox
from omniline.kit.clock import utcnow

STANDARD = timedelta(hours=24)
HUMAN_AGENT = timedelta(days=7)


def N_(message: str) -> str:
    return message


CLOSED_24H = N_(
    "Messenger allows replies only within 24 hours of the customer's last message. "
    "The customer has to write again before you can answer."
)
CLOSED_7D = N_(
    "More than 7 days have passed since the customer's last message: Messenger allows no "
    "reply. The customer has to write again before you can answer."
)


async def last_inbound_at(session: AsyncSession, conversation_id: int) -> datetime | None:
    return await session.scalar(
        select(Message.created_at)
        .where(
            Message.conversation_id == conversation_id,
            Message.direction == Direction.inbound.value,
        )
        .order_by(Message.id.desc())
        .limit(1)
    )


def tag_allowed(settings: dict[str, Any]) -> bool:
    return bool(settings.get("human_agent_tag", True))


def messaging_fields(last: datetime | None, allow_tag: bool) -> dict[str, str] | str:
    """The Send API's messaging_type (and tag) for a reply now, or why none is allowed."""
    age = utcnow() - last if last is not None else None
    if age is not None and age <= STANDARD:
        return {"messaging_type": "RESPONSE"}
    if age is not None and age <= HUMAN_AGENT and allow_tag:
        return {"messaging_type": "MESSAGE_TAG", "tag": "HUMAN_AGENT"}
    return CLOSED_24H if not allow_tag else CLOSED_7D


async def reply_window(
    session: AsyncSession, conv: Conversation, inbox: Inbox
) -> dict[str, str] | str:
    last = await last_inbound_at(session, conv.id)
    return messaging_fields(last, tag_allowed(inbox.settings or {}))


async def guard(
    session: AsyncSession, conv: Conversation, inbox: Inbox, meta: dict[str, Any]
) -> str | None:
    fields = await reply_window(session, conv, inbox)
    return fields if isinstance(fields, str) else None
