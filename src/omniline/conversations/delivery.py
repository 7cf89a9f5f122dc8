"""Outbound delivery: channels register a sender; a durable job calls it with retries."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.conversations import notify, repository
from omniline.conversations.models import Conversation, Delivery, Message
from omniline.inboxes.models import Inbox
from omniline.jobs.registry import job
from omniline.jobs.runner import backoff_seconds
from omniline.jobs.service import enqueue
from omniline.kit.clock import utcnow


@dataclass(slots=True)
class DeliveryResult:
    status: Delivery
    external_id: str | None = None
    error: str | None = None


Sender = Callable[[AsyncSession, Message, Conversation, Inbox], Awaitable[DeliveryResult]]

_senders: dict[str, Sender] = {}


def register_sender(channel: str, sender: Sender) -> None:
    _senders[channel] = sender


MAX_ATTEMPTS = 8


@job("deliver_message")
async def deliver_message(session: AsyncSession, payload: dict[str, Any]) -> None:
    msg = await session.scalar(select(Message).where(Message.id == int(payload["message_id"])))
    if (
        msg is None
        or msg.private
        or msg.delivery_status not in (Delivery.queued.value, Delivery.failed.value)
    ):
        return  # deleted, or already delivered by an earlier attempt
    conv = await session.get(Conversation, msg.conversation_id)
    inbox = await session.get(Inbox, msg.inbox_id)
    if conv is None or inbox is None:
        return
    sender = _senders.get(inbox.channel)
    if sender is None:
        result = DeliveryResult(Delivery.failed, error=f"no sender for channel {inbox.channel}")
    else:
        result = await sender(session, msg, conv, inbox)
    msg.delivery_status = result.status.value
    msg.delivery_error = result.error
    if result.external_id and not msg.external_id:
        msg.external_id = result.external_id
    await session.flush()
    atts = (await repository.attachments_for(session, [msg.id])).get(msg.id, [])
    notify.message_status(session, conv, msg, atts)
    attempt = int(payload.get("attempt", 1))
    if result.status == Delivery.failed and attempt < MAX_ATTEMPTS:
        # The failure is committed (the agent sees why) and a later attempt is scheduled.
        await enqueue(
            session,
            "deliver_message",
            {"message_id": msg.id, "attempt": attempt + 1},
            run_at=utcnow() + timedelta(seconds=backoff_seconds(attempt)),
            workspace_id=msg.workspace_id,
        )
