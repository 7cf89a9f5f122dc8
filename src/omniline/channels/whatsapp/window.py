"""WhatsApp's 24-hour customer-service window.

A business may write freely only within 24 hours of the customer's last message; after
that only an approved template may open the chat again. The guard tells the agent before
anything is queued (the conversation view shows it as ``reply_blocked``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.channels.whatsapp.graph import N_, in_default_locale
from omniline.conversations.models import Conversation, Direction, Message
from omniline.inboxes.models import Inbox
from omniline.kit.clock import utcnow

WINDOW = timedelta(hours=24)

WROTE_LONG_AGO = N_(
    "The customer last wrote more than 24 hours ago (on %(when)s UTC); WhatsApp only "
    "allows an approved template now."
)
NEVER_WROTE = N_(
    "The customer has not written to this WhatsApp number yet; WhatsApp only allows an "
    "approved template now."
)


async def last_customer_message_at(
    session: AsyncSession, conv: Conversation, inbox: Inbox
) -> datetime | None:
    """The newest message of this contact through this number (any of their conversations)."""
    convs = select(Conversation.id).where(
        Conversation.contact_id == conv.contact_id, Conversation.inbox_id == inbox.id
    )
    last = await session.scalar(
        select(func.max(Message.created_at)).where(
            Message.conversation_id.in_(convs),
            Message.inbox_id == inbox.id,
            Message.direction == Direction.inbound.value,
        )
    )
    if last is not None and last.tzinfo is None:
        last = last.replace(tzinfo=UTC)
    return last


async def reply_guard(
    session: AsyncSession, conv: Conversation, inbox: Inbox, meta: dict[str, Any]
) -> str | None:
    if meta.get("template"):
        return None
    last = await last_customer_message_at(session, conv, inbox)
    if last is None:
        return in_default_locale(NEVER_WROTE)
    if utcnow() - last < WINDOW:
        return None
    when = last.astimezone(UTC).strftime("%Y-%m-%d %H:%M")
    return in_default_locale(WROTE_LONG_AGO) % {"when": when}
