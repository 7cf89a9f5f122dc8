"""What an agent does by hand: take the next waiting conversation, pick one, accept an offer.

Both obey capacity: the agent's state row is locked first (waiting for a concurrent
assigner to commit), then the conversation, and the load is counted inside the lock.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.auth import access
from omniline.auth.principal import Principal
from omniline.conversations import notify
from omniline.conversations import repository as conversations
from omniline.conversations import service as conv_service
from omniline.conversations.models import Conversation, ConversationEvent
from omniline.errors import Conflict, NotFound
from omniline.kit.clock import utcnow
from omniline.presence import repository as repo
from omniline.presence.assignment import has_room
from omniline.presence.models import AgentState, ChannelKind, Offer, kind_of
from omniline.presence.service import ensure_state
from omniline.workspaces import repository as workspaces

KIND_WORDS = {ChannelKind.chat: "chats", ChannelKind.email: "emails", ChannelKind.voice: "calls"}


def _full_message(kind: ChannelKind, load: int, cap: int) -> str:
    return (
        f"you are at full capacity: {load} of {cap} {KIND_WORDS[kind]} open; "
        "resolve one before taking another"
    )


async def _my_queues(session: AsyncSession, p: Principal, queue_id: int | None) -> list[int]:
    if queue_id is None:
        ids = await repo.member_queue_ids(session, p.user_id)
        if not ids:
            raise Conflict("you are not a member of any queue; ask an administrator to add you")
        return ids
    queue = await workspaces.queue(session, p.workspace_id, queue_id)
    if queue is None or not access.can_see(p, queue.id, None):
        raise NotFound("no such queue")
    return [queue.id]


async def do_take_next(
    session: AsyncSession, p: Principal, queue_id: int | None = None
) -> conversations.Row:
    """Assign myself the next waiting conversation of a queue (or of all my queues)."""
    access.check_may_reply(p)
    queue_ids = await _my_queues(session, p, queue_id)
    state = await ensure_state(session, p.workspace_id, p.user_id)
    defaults = await repo.settings_of(session, p.workspace_id)
    full: dict[ChannelKind, tuple[int, int]] = {}
    for kind in ChannelKind:
        room, load, cap = await has_room(session, state, defaults, kind)
        if not room:
            full[kind] = (load, cap)
    conv = await repo.next_waiting(session, p.workspace_id, queue_ids, skip_kinds=full)
    if conv is None:
        blocked = await repo.next_waiting(session, p.workspace_id, queue_ids)
        if blocked is not None:
            kind = kind_of(blocked.channel)
            raise Conflict(_full_message(kind, *full[kind]))
        raise NotFound("no conversation is waiting in your queues")
    return await _assign_me(session, p, conv, state)


async def do_pick(session: AsyncSession, p: Principal, conv_id: int) -> conversations.Row:
    """Take one conversation from the list, if it is still free and I have room."""
    access.check_may_reply(p)
    state = await ensure_state(session, p.workspace_id, p.user_id)
    conv = await repo.lock_conversation(session, p.workspace_id, conv_id)
    if conv is None or not access.can_see(p, conv.queue_id, conv.assignee_id):
        raise NotFound("no such conversation")
    if conv.assignee_id == p.user_id:
        return (await conversations.rows_by_ids(session, [conv.id]))[0]
    if conv.status not in conv_service.OPEN_VALUES:
        raise Conflict("only an open conversation can be picked; reopen it first")
    # The same ownership rule as assigning: leads may take a colleague's conversation.
    await conv_service.check_may_change_owner(session, p, conv, p.user_id)
    defaults = await repo.settings_of(session, p.workspace_id)
    kind = kind_of(conv.channel)
    room, load, cap = await has_room(session, state, defaults, kind)
    if not room:
        raise Conflict(_full_message(kind, load, cap))
    return await _assign_me(session, p, conv, state)


async def _assign_me(
    session: AsyncSession, p: Principal, conv: Conversation, state: AgentState
) -> conversations.Row:
    row = await conv_service.do_assign(session, p, conv.id, p.user_id)
    await session.execute(
        update(AgentState).where(AgentState.user_id == state.user_id).values(idle_since=utcnow())
    )
    offer = await session.get(Offer, conv.id)
    if offer is not None:  # taking it by hand is accepting it
        await session.delete(offer)
    await session.flush()
    return row


async def do_accept(session: AsyncSession, p: Principal, conv_id: int) -> conversations.Row:
    """Accept a conversation the engine offered me before its time runs out."""
    access.check_may_reply(p)
    await repo.sqlite_write_lock(session)
    conv = await repo.lock_conversation(session, p.workspace_id, conv_id)
    if conv is None or not access.can_see(p, conv.queue_id, conv.assignee_id):
        raise NotFound("no such conversation")
    offer = await session.get(Offer, conv.id, populate_existing=True)
    if offer is None or offer.assignee_id != p.user_id or conv.assignee_id != p.user_id:
        raise Conflict(
            "this conversation is not offered to you; the time to accept may have run out"
        )
    if offer.accepted_at is None:
        now = utcnow()
        offer.accepted_at = now
        ev = ConversationEvent(
            workspace_id=conv.workspace_id,
            conversation_id=conv.id,
            type="accepted",
            actor_type="agent",
            actor_id=p.user_id,
            actor_name=p.name,
            data={},
            created_at=now,
        )
        session.add(ev)
        await session.flush()
        notify.timeline_event(session, conv, ev)
    return (await conversations.rows_by_ids(session, [conv.id]))[0]
