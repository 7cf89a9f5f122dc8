"""Moving conversations between queues and people: transfers, automatic assignment, requeue.

These are the actions routing, SLA and the assignment engine call; the API calls
:func:`do_transfer`. Each emits a domain event (:mod:`omniline.kit.hooks`).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.auth import access
from omniline.auth.models import User
from omniline.auth.principal import Principal
from omniline.conversations import notify, repository
from omniline.conversations.models import (
    AuthorType,
    Conversation,
    Delivery,
    Direction,
    Message,
    Status,
)
from omniline.conversations.service import (
    OPEN_VALUES,
    SYSTEM,
    Actor,
    _add_event,
    _assign,
    _publish_row,
    check_may_change_owner,
    get_visible,
)
from omniline.errors import Conflict, Invalid, NoSuch, NotFound
from omniline.kit.clock import utcnow
from omniline.kit.hooks import DomainEvent, emit
from omniline.workspaces import repository as workspaces


async def do_transfer(
    session: AsyncSession, p: Principal, conv_id: int, queue_id: int, note: str = ""
) -> repository.Row:
    """Send a conversation to another queue (first line -> second line), with a private note."""
    access.check_may_reply(p)
    conv = await get_visible(session, p, conv_id)
    # Transferring releases the conversation: the same rule as unassigning it.
    await check_may_change_owner(session, p, conv, None)
    if conv.status not in OPEN_VALUES:
        raise Conflict("only an open conversation can be transferred")
    queue = await workspaces.queue(session, p.workspace_id, queue_id)
    if queue is None:
        raise NoSuch("queue_id", "no such queue in this workspace")
    if queue.id == conv.queue_id:
        raise Conflict("the conversation is already in this queue")
    if len(note) > 10_000:
        raise Invalid("note", "must be at most 10000 characters")
    actor = Actor.of(p)
    now = utcnow()
    previous = conv.queue_id
    previous_assignee = conv.assignee_id
    conv.queue_id = queue.id
    conv.assignee_id = None
    conv.status = Status.queued.value
    ev = _add_event(
        session,
        conv,
        "transferred",
        actor,
        {"from_queue_id": previous, "queue_id": queue.id, "queue_name": queue.name},
        now,
    )
    if note.strip():
        msg = Message(
            workspace_id=conv.workspace_id,
            conversation_id=conv.id,
            inbox_id=conv.inbox_id,
            direction=Direction.outbound.value,
            author_type=AuthorType.agent.value,
            author_id=p.user_id,
            author_name=p.name,
            text=note,
            private=True,
            delivery_status=Delivery.received.value,
            created_at=now,
        )
        session.add(msg)
        await session.flush()
        notify.message_created(session, conv, msg, [])
    await session.flush()
    notify.timeline_event(session, conv, ev)
    if previous_assignee is not None:
        # The agent's capacity is free again: their queues may hand them the next chat.
        await emit(
            session,
            DomainEvent(
                "conversation.unassigned",
                conv.workspace_id,
                {
                    "conversation_id": conv.id,
                    "previous_assignee_id": previous_assignee,
                    "queue_id": previous,
                },
            ),
        )
    await emit(
        session,
        DomainEvent(
            "conversation.queued",
            conv.workspace_id,
            {"conversation_id": conv.id, "queue_id": queue.id, "reason": "transfer"},
        ),
    )
    return await _publish_row(session, conv)


async def do_system_assign(
    session: AsyncSession, conv: Conversation, user_id: int, *, reason: str
) -> repository.Row:
    """Assign on behalf of the routing engine (no acting person); the caller checked capacity."""
    if conv.status not in OPEN_VALUES:
        raise Conflict("only an open conversation can be assigned")
    user = await session.scalar(
        select(User).where(User.id == user_id, User.workspace_id == conv.workspace_id)
    )
    if user is None:
        raise NotFound("no such user in this workspace")
    ev = _assign(session, conv, user.id, user.name, SYSTEM, utcnow())
    ev.data = {**ev.data, "reason": reason}
    await session.flush()
    notify.timeline_event(session, conv, ev)
    await emit(
        session,
        DomainEvent(
            "conversation.assigned",
            conv.workspace_id,
            {"conversation_id": conv.id, "assignee_id": user.id, "queue_id": conv.queue_id},
        ),
    )
    return await _publish_row(session, conv)


async def do_requeue(session: AsyncSession, conv: Conversation, *, reason: str) -> repository.Row:
    """Take a conversation back from its agent (went offline, did not accept in time)."""
    previous = conv.assignee_id
    conv.assignee_id = None
    if conv.status in (Status.assigned.value, Status.waiting_customer.value):
        conv.status = Status.queued.value
    ev = _add_event(
        session, conv, "requeued", SYSTEM, {"previous_assignee_id": previous, "reason": reason}
    )
    await session.flush()
    notify.timeline_event(session, conv, ev)
    await emit(
        session,
        DomainEvent(
            "conversation.unassigned",
            conv.workspace_id,
            {
                "conversation_id": conv.id,
                "previous_assignee_id": previous,
                "queue_id": conv.queue_id,
            },
        ),
    )
    await emit(
        session,
        DomainEvent(
            "conversation.queued",
            conv.workspace_id,
            {"conversation_id": conv.id, "queue_id": conv.queue_id, "reason": reason},
        ),
    )
    return await _publish_row(session, conv)


async def do_bot_handoff(
    session: AsyncSession,
    conv: Conversation,
    *,
    reason: str,
    queue_id: int | None = None,
    priority: int | None = None,
    topic: str | None = None,
    data: dict[str, object] | None = None,
) -> None:
    """The bot passes the conversation to the queue (routing may have moved it since).

    The SLA clocks and the assignment start here, as for a conversation that had no bot.
    """
    if conv.status != Status.bot.value:
        return
    if queue_id is not None:
        conv.queue_id = queue_id
    if priority is not None:
        conv.priority = priority
    if topic:
        conv.topic = topic[:100]
    conv.status = Status.queued.value
    conv.first_queued_at = utcnow()
    ev = _add_event(
        session,
        conv,
        "bot_handoff",
        Actor(AuthorType.bot.value, None, ""),
        {"reason": reason, "queue_id": conv.queue_id, **(data or {})},
    )
    queued = _add_event(session, conv, "queued", SYSTEM, {"queue_id": conv.queue_id})
    await session.flush()
    notify.timeline_event(session, conv, ev)
    notify.timeline_event(session, conv, queued)
    await emit(
        session,
        DomainEvent(
            "conversation.bot_handoff",
            conv.workspace_id,
            {"conversation_id": conv.id, "queue_id": conv.queue_id, "reason": reason},
        ),
    )
    await emit(
        session,
        DomainEvent(
            "conversation.queued",
            conv.workspace_id,
            {"conversation_id": conv.id, "queue_id": conv.queue_id, "reason": "bot_handoff"},
        ),
    )
    await _publish_row(session, conv)


async def do_bot_resolve(session: AsyncSession, conv: Conversation, *, reason: str) -> None:
    """The flow reached its end (or the customer fell silent): resolved without an agent."""
    if conv.status != Status.bot.value:
        return
    conv.status = Status.resolved.value
    conv.resolved_at = utcnow()
    ev = _add_event(
        session, conv, "bot_resolved", Actor(AuthorType.bot.value, None, ""), {"reason": reason}
    )
    await session.flush()
    notify.timeline_event(session, conv, ev)
    await emit(
        session,
        DomainEvent(
            "conversation.resolved",
            conv.workspace_id,
            {"conversation_id": conv.id, "queue_id": conv.queue_id, "by": "bot", "reason": reason},
        ),
    )
    await _publish_row(session, conv)
