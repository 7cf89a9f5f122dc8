"""Messages Omniline itself sends to a customer: auto-replies, SLA promises, closing notes."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from omniline.conversations import notify
from omniline.conversations.delivery import delivers_on_commit
from omniline.conversations.models import AuthorType, Conversation, Delivery, Direction, Message
from omniline.jobs import service as jobs
from omniline.kit.clock import utcnow
from omniline.kit.hooks import DomainEvent, emit


async def do_send_system_message(
    session: AsyncSession,
    conv: Conversation,
    text: str,
    *,
    author_type: str = AuthorType.system.value,
    author_name: str = "",
    kind: str = "auto_reply",
    meta: dict[str, object] | None = None,
) -> Message:
    """Store an outbound message and queue its delivery in the caller's transaction.

    It does not count as the agents' first reply and does not change the status.
    """
    # The web chat reads it from the database and its socket: sent once committed (a bot's
    # turn then costs no delivery job round trip).
    at_once = delivers_on_commit(conv.channel)
    msg = Message(
        workspace_id=conv.workspace_id,
        conversation_id=conv.id,
        inbox_id=conv.inbox_id,
        direction=Direction.outbound.value,
        author_type=author_type,
        author_name=author_name,
        text=text,
        meta=dict(meta or {}),
        private=False,
        delivery_status=Delivery.sent.value if at_once else Delivery.queued.value,
        created_at=utcnow(),
    )
    session.add(msg)
    await session.flush()
    if not at_once:
        await jobs.enqueue(
            session,
            "deliver_message",
            {"message_id": msg.id, "conversation_id": conv.id},
            workspace_id=conv.workspace_id,
        )
    notify.message_created(session, conv, msg, [])
    await emit(
        session,
        DomainEvent(
            "message.created",
            conv.workspace_id,
            {
                "conversation_id": conv.id,
                "message_id": msg.id,
                "direction": msg.direction,
                "private": False,
                "author_type": msg.author_type,
                "queue_id": conv.queue_id,
                "kind": kind,
            },
        ),
    )
    return msg
