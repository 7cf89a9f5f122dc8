"""Outbound for the web chat: the reply reaches the widget over its WebSocket and API.

There is nothing to hand to a third party, so delivery succeeds once the message
is committed; a visitor who is offline reads it from the history when they return.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from omniline.conversations.delivery import DeliveryResult
from omniline.conversations.models import Conversation, Delivery, Message
from omniline.inboxes.models import Inbox


async def send(
    session: AsyncSession, message: Message, conversation: Conversation, inbox: Inbox
) -> DeliveryResult:
    return DeliveryResult(Delivery.sent)
