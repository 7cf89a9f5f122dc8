"""Conversation actions (``do_*``): the API, channel webhooks and jobs all call these."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.auth import access
from omniline.auth.models import Role, User
from omniline.auth.principal import Principal
from omniline.conversations import delivery, notify, reply_keys, repository
from omniline.conversations.attachments import StoredFile
from omniline.conversations.models import (
    AuthorType,
    Conversation,
    ConversationEvent,
    ConversationTag,
    Delivery,
    Direction,
    Message,
    Status,
)
from omniline.conversations.receive import receive_inbound
from omniline.conversations.records import (
    OPEN_VALUES,
    SYSTEM,
    Actor,
    Received,
    _add_event,
    _attach,
    _conv_event,
    _touch,
)
from omniline.errors import Conflict, Invalid, NoSuch, NotFound
from omniline.jobs import service as jobs
from omniline.kit.clock import utcnow
from omniline.kit.hooks import DomainEvent, emit

__all__ = ["OPEN_VALUES", "SYSTEM", "Actor", "Received", "_add_event", "receive_inbound"]


async def get_visible(session: AsyncSession, p: Principal, conv_id: int) -> Conversation:
    conv = await repository.get(session, p.workspace_id, conv_id)
    if conv is None or not access.can_see(p, conv.queue_id, conv.assignee_id):
        raise NotFound("no such conversation")
    return conv


async def _publish_row(session: AsyncSession, conv: Conversation) -> repository.Row:
    await session.flush()
    rows = await repository.rows_by_ids(session, [conv.id])
    notify.conversation_changed(session, rows[0], created=False)
    return rows[0]


async def do_reply(
    session: AsyncSession,
    p: Principal,
    conv_id: int,
    text: str,
    *,
    private: bool = False,
    files: list[StoredFile] | None = None,
    meta: dict[str, Any] | None = None,
    idempotency: reply_keys.Idempotency | None = None,
) -> Received:
    """An agent's reply or private note. With ``idempotency``, a request already stored
    under its key returns that message (``duplicate``) and stores nothing."""
    access.check_may_reply(p)
    conv = await get_visible(session, p, conv_id)
    if idempotency is not None:
        # Before the checks of the state: the first attempt may have changed it (assigned
        # the conversation, or a channel's window has closed since).
        done = await reply_keys.earlier(session, p, idempotency)
        if done is not None:
            return done
    files = files or []
    if not text.strip() and not files and not (meta or {}).get("template"):
        raise Invalid("text", "must not be empty")
    if conv.status == Status.closed.value and not private:
        raise Conflict("the conversation is closed; a customer's new message opens a new one")
    if not private:
        reason = await delivery.reply_blocked_reason(session, conv, meta)
        if reason:
            raise Conflict(reason)
    key = None
    if idempotency is not None:
        key, done = await reply_keys.claim(session, p, idempotency)
        if done is not None:
            return done
    now = utcnow()
    msg = Message(
        workspace_id=conv.workspace_id,
        conversation_id=conv.id,
        inbox_id=conv.inbox_id,
        direction=Direction.outbound.value,
        author_type=AuthorType.agent.value,
        author_id=p.user_id,
        author_name=p.name,
        text=text,
        private=private,
        meta=dict(meta or {}),
        delivery_status=Delivery.received.value if private else Delivery.queued.value,
        created_at=now,
    )
    session.add(msg)
    await session.flush()
    if key is not None:
        key.message_id = msg.id
    atts = _attach(session, msg, files)
    actor = Actor.of(p)
    changed = False
    if not private:
        _touch(conv, msg)
        if conv.assignee_id is None and conv.status in OPEN_VALUES:
            _assign(session, conv, p.user_id, p.name, actor, now)
            await session.flush()  # listeners read the assignee from the database
            await emit(session, _conv_event("conversation.assigned", conv, assignee_id=p.user_id))
        if conv.first_agent_reply_at is None:
            conv.first_agent_reply_at = now
        if conv.status in (Status.assigned.value, Status.queued.value):
            conv.status = Status.waiting_customer.value
        changed = True
        await jobs.enqueue(
            session,
            "deliver_message",
            {"message_id": msg.id, "conversation_id": conv.id},
            workspace_id=conv.workspace_id,
        )
    ev = _add_event(
        session, conv, "note" if private else "message_out", actor, {"message_id": msg.id}
    )
    await session.flush()
    notify.message_created(session, conv, msg, atts)
    notify.timeline_event(session, conv, ev)
    await emit(
        session,
        DomainEvent(
            "message.created",
            conv.workspace_id,
            {
                "conversation_id": conv.id,
                "message_id": msg.id,
                "direction": msg.direction,
                "private": msg.private,
                "author_type": msg.author_type,
                "queue_id": conv.queue_id,
            },
        ),
    )
    if changed:
        await _publish_row(session, conv)
    return Received(msg, atts)


def _assign(
    session: AsyncSession,
    conv: Conversation,
    user_id: int,
    name: str,
    actor: Actor,
    now: object,
) -> ConversationEvent:
    conv.assignee_id = user_id
    if conv.first_assigned_at is None:
        conv.first_assigned_at = utcnow()
    if conv.status in (Status.queued.value, Status.bot.value):
        conv.status = Status.assigned.value
    return _add_event(
        session, conv, "assigned", actor, {"assignee_id": user_id, "assignee_name": name}
    )


async def check_may_change_owner(
    session: AsyncSession, p: Principal, conv: Conversation, new: int | None
) -> None:
    """auth/access.py's ownership rule, with the current holder's name for the message."""
    if access.may_change_owner(p, conv.queue_id, conv.assignee_id, new):
        return
    name = None
    if conv.assignee_id is not None:
        name = await session.scalar(select(User.name).where(User.id == conv.assignee_id))
    access.check_may_change_owner(p, conv.queue_id, conv.assignee_id, new, name)


async def do_assign(
    session: AsyncSession, p: Principal, conv_id: int, assignee_id: int | None
) -> repository.Row:
    conv = await get_visible(session, p, conv_id)
    await check_may_change_owner(session, p, conv, assignee_id)
    if conv.status not in OPEN_VALUES:
        raise Conflict("only an open conversation can be assigned; reopen it first")
    actor = Actor.of(p)
    previous: int | None = conv.assignee_id
    if assignee_id is None:
        if conv.assignee_id is None:
            return await _publish_row(session, conv)
        conv.assignee_id = None
        if conv.status == Status.assigned.value:
            conv.status = Status.queued.value
        ev = _add_event(session, conv, "unassigned", actor, {"previous_assignee_id": previous})
    else:
        user = await session.scalar(
            select(User).where(User.id == assignee_id, User.workspace_id == p.workspace_id)
        )
        if user is None or not user.active:
            raise NoSuch("assignee_id", "no such active user in this workspace")
        if user.role == Role.qa.value:
            raise Invalid("assignee_id", "QA staff do not take conversations")
        if conv.assignee_id == user.id:
            return await _publish_row(session, conv)
        ev = _assign(session, conv, user.id, user.name, actor, utcnow())
    await session.flush()
    notify.timeline_event(session, conv, ev)
    if conv.assignee_id is None:
        await emit(
            session,
            _conv_event(
                "conversation.unassigned",
                conv,
                previous_assignee_id=ev.data.get("previous_assignee_id"),
            ),
        )
    else:
        # The agent it was taken from (if any) may have no chat left (presence/history.py).
        extra = {"previous_assignee_id": previous} if previous is not None else {}
        await emit(
            session,
            _conv_event("conversation.assigned", conv, assignee_id=conv.assignee_id, **extra),
        )
    return await _publish_row(session, conv)


async def do_resolve(session: AsyncSession, p: Principal, conv_id: int) -> repository.Row:
    access.check_may_reply(p)
    conv = await get_visible(session, p, conv_id)
    if conv.status not in OPEN_VALUES:
        raise Conflict("the conversation is already resolved")
    conv.status = Status.resolved.value
    conv.resolved_at = utcnow()
    ev = _add_event(session, conv, "resolved", Actor.of(p), {})
    await session.flush()
    notify.timeline_event(session, conv, ev)
    await emit(session, _conv_event("conversation.resolved", conv))
    return await _publish_row(session, conv)


async def do_reopen(session: AsyncSession, p: Principal, conv_id: int) -> repository.Row:
    access.check_may_reply(p)
    conv = await get_visible(session, p, conv_id)
    if conv.status in OPEN_VALUES:
        raise Conflict("the conversation is already open")
    conv.status = Status.assigned.value if conv.assignee_id else Status.queued.value
    conv.resolved_at = None
    conv.last_activity_at = utcnow()
    ev = _add_event(session, conv, "reopened", Actor.of(p), {})
    await session.flush()
    notify.timeline_event(session, conv, ev)
    await emit(session, _conv_event("conversation.reopened", conv))
    if conv.assignee_id is None:
        await emit(session, _conv_event("conversation.queued", conv, reason="reopened"))
    return await _publish_row(session, conv)


async def do_set_tags(
    session: AsyncSession, p: Principal, conv_id: int, tags: list[str]
) -> repository.Row:
    access.check_may_reply(p)
    conv = await get_visible(session, p, conv_id)
    clean = sorted({t.strip().lower() for t in tags if t.strip()})
    if any(len(t) > 64 for t in clean):
        raise Invalid("tags", "a tag must be at most 64 characters long")
    if len(clean) > 50:
        raise Invalid("tags", "at most 50 tags")
    before = list(conv.tags or [])
    if clean == before:
        return await _publish_row(session, conv)
    conv.tags = clean
    await session.execute(delete(ConversationTag).where(ConversationTag.conversation_id == conv.id))
    session.add_all(
        ConversationTag(conversation_id=conv.id, tag=t, workspace_id=conv.workspace_id)
        for t in clean
    )
    ev = _add_event(session, conv, "tags_changed", Actor.of(p), {"before": before, "after": clean})
    await session.flush()
    notify.timeline_event(session, conv, ev)
    return await _publish_row(session, conv)
