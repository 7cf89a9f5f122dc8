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


async def enrich(session: AsyncSession, events: list[hooks.DomainEvent]) -> list[dict[str, Any]]:
    """Each event's own data plus what a receiver would otherwise have to fetch back.

    The conversations' summaries, the messages and their files are read once for all the
    events (a batch of new conversations is three events each).
    """
    conv_ids = sorted(
        {
            e.data["conversation_id"]
            for e in events
            if isinstance(e.data.get("conversation_id"), int)
        }
    )
    rows = {r.conv.id: r for r in await conversations.rows_by_ids(session, conv_ids)}
    msg_ids = sorted(
        {
            e.data["message_id"]
            for e in events
            if e.type == "message.created" and isinstance(e.data.get("message_id"), int)
        }
    )
    msgs: dict[int, Message] = {}
    if msg_ids:
        msgs = {
            m.id: m for m in await session.scalars(select(Message).where(Message.id.in_(msg_ids)))
        }
    atts = await conversations.attachments_for(session, sorted(msgs))
    out = []
    for event in events:
        data: dict[str, Any] = dict(event.data)
        conv_id, msg_id = data.get("conversation_id"), data.get("message_id")
        row = rows.get(conv_id) if isinstance(conv_id, int) else None
        if row is not None and row.conv.workspace_id == event.workspace_id:
            data["conversation"] = summary_of(row)
        is_message = event.type == "message.created" and isinstance(msg_id, int)
        msg = msgs.get(msg_id) if is_message and isinstance(msg_id, int) else None
        if msg is not None and msg.workspace_id == event.workspace_id:
            data["message"] = message_view(msg, atts.get(msg.id))
        out.append(data)
    return out


async def on_events(session: AsyncSession, events: list[hooks.DomainEvent]) -> None:
    """A batch listener: one delivery per event and subscription, written together."""
    wanted = []
    for event in events:
        subs = await repository.enabled_for(session, event.workspace_id, event.type)
        if subs:
            wanted.append((event, subs))
    if not wanted:
        return
    at = utcnow()
    datas = await enrich(session, [event for event, _ in wanted])
    await service.queue_deliveries(
        session,
        [
            (sub, event.type, data)
            for (event, subs), data in zip(wanted, datas, strict=True)
            for sub in subs
        ],
        at,
    )


def register() -> None:
    from omniline.webhooks import jobs  # noqa: F401 - registers the job handler

    for event_type in EVENT_TYPES:
        hooks.on_batch(event_type, on_events)
