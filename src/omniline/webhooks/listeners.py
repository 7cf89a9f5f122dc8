"""Turning domain events into webhook deliveries, inside the event's transaction.

A rollback of the change drops the delivery and its job with it, so a receiver is never
told of something that did not happen. The body is frozen here, at event time.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.conversations import repository as conversations
from omniline.conversations.models import Message
from omniline.conversations.notify import summary_of
from omniline.conversations.views import message_view
from omniline.kit import hooks
from omniline.kit.clock import utcnow
from omniline.webhooks import repository, service
from omniline.webhooks.models import EVENT_TYPES


async def enrich(session: AsyncSession, event: hooks.DomainEvent) -> dict[str, Any]:
    """The event's own data plus what a receiver would otherwise have to fetch back."""
    data: dict[str, Any] = dict(event.data)
    conv_id = data.get("conversation_id")
    if isinstance(conv_id, int):
        rows = await conversations.rows_by_ids(session, [conv_id])
        if rows and rows[0].conv.workspace_id == event.workspace_id:
            data["conversation"] = summary_of(rows[0])
    msg_id = data.get("message_id")
    if event.type == "message.created" and isinstance(msg_id, int):
        msg = await session.scalar(
            select(Message).where(Message.id == msg_id, Message.workspace_id == event.workspace_id)
        )
        if msg is not None:
            atts = await conversations.attachments_for(session, [msg.id])
            data["message"] = message_view(msg, atts.get(msg.id))
    return data


async def on_event(session: AsyncSession, event: hooks.DomainEvent) -> None:
    subs = await repository.enabled_for(session, event.workspace_id, event.type)
    if not subs:
        return
    data = await enrich(session, event)
    at = utcnow()
    for sub in subs:
        await service.queue_delivery(session, sub, event.type, data, at)


def register() -> None:
    from omniline.webhooks import jobs  # noqa: F401 - registers the job handler

    for event_type in EVENT_TYPES:
        hooks.on(event_type, on_event)
