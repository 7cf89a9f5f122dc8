"""Triggers and durable jobs of automatic assignment.

Domain events (a conversation queued, created, resolved, unassigned) and presence
changes write one ``assign_queue`` job per queue; a job already pending for that
queue is reused, so a burst of arrivals runs the engine once. ``acceptance_timeout``
takes a conversation back from an agent who did not accept it in time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.conversations.models import Conversation
from omniline.conversations.transfers import do_requeue
from omniline.jobs import service as jobs
from omniline.jobs.models import Job, JobState
from omniline.jobs.registry import job
from omniline.kit import hooks
from omniline.kit.hooks import DomainEvent
from omniline.presence import repository as repo
from omniline.presence.models import Offer, Presence
from omniline.workspaces.models import Queue

ASSIGN = "assign_queue"
TIMEOUT = "acceptance_timeout"


async def request_assignment(session: AsyncSession, workspace_id: int, queue_id: int) -> None:
    """Make sure an ``assign_queue`` job for the queue runs after this transaction commits.

    A pending one is locked (PostgreSQL) so no runner claims it before this
    transaction commits; on SQLite this transaction already holds the write lock.
    """
    seen = _requested(session)
    if queue_id in seen:
        return
    stmt = select(Job).where(
        Job.kind == ASSIGN,
        Job.state == JobState.pending.value,
        Job.workspace_id == workspace_id,
    )
    if repo.is_postgres(session):
        stmt = stmt.with_for_update()
    for pending in await session.scalars(stmt):
        if pending.payload.get("queue_id") == queue_id:
            seen.add(queue_id)
            return
    await jobs.enqueue(session, ASSIGN, {"queue_id": queue_id}, workspace_id=workspace_id)
    await session.flush()
    seen.add(queue_id)


def _requested(session: AsyncSession) -> set[int]:
    """Queues already requested in the current transaction (a session outlives several)."""
    txn = id(session.sync_session.get_transaction())
    memo: dict[str, Any] = session.info.setdefault("presence_assign_requested", {})
    if memo.get("txn") != txn:
        memo.clear()
        memo.update(txn=txn, queues=set())
    queues: set[int] = memo["queues"]
    return queues


@job(ASSIGN)
async def assign_queue(session: AsyncSession, payload: dict[str, Any]) -> None:
    from omniline.presence.assignment import BATCH, run_queue

    queue = await session.get(Queue, int(payload["queue_id"]))
    if queue is None:
        return
    made = await run_queue(session, queue.workspace_id, queue.id)
    if len(made) >= BATCH:  # more may be waiting: let the next run take them
        _requested(session).discard(queue.id)
        await request_assignment(session, queue.workspace_id, queue.id)


def withdrawn(session: AsyncSession, workspace_id: int, conv_id: int, user_id: int) -> None:
    from omniline.presence.assignment import withdrawn as publish

    publish(session, workspace_id, conv_id, user_id)


@job(TIMEOUT)
async def acceptance_timeout(session: AsyncSession, payload: dict[str, Any]) -> None:
    conv_id, assignee_id = int(payload["conversation_id"]), int(payload["assignee_id"])
    conv = await session.get(Conversation, conv_id)
    if conv is None:
        return
    await repo.sqlite_write_lock(session)
    conv = await repo.lock_conversation(session, conv.workspace_id, conv_id)
    offer = await session.get(Offer, conv_id, populate_existing=True)
    if conv is None or offer is None or offer.accepted_at is not None:
        return
    offered = datetime.fromisoformat(str(payload["offered_at"]).replace("Z", "+00:00"))
    if (
        offer.assignee_id != assignee_id
        or abs((offer.offered_at - offered).total_seconds()) > 0.001
    ):
        return  # a newer offer has its own timer
    await session.execute(delete(Offer).where(Offer.conversation_id == conv_id))
    withdrawn(session, conv.workspace_id, conv_id, assignee_id)
    if conv.assignee_id == assignee_id and conv.status in repo.LOAD_STATUSES:
        await do_requeue(session, conv, reason="not_accepted")


async def _on_queued(session: AsyncSession, event: DomainEvent) -> None:
    queue_id = event.data.get("queue_id")
    if queue_id is not None:
        await request_assignment(session, event.workspace_id, int(queue_id))


async def _on_freed(session: AsyncSession, event: DomainEvent) -> None:
    """An agent has room again: their queues may have someone waiting."""
    user_id = event.data.get("previous_assignee_id")
    if user_id is None and event.type == "conversation.resolved":
        conv = await session.get(Conversation, int(event.data["conversation_id"]))
        user_id = conv.assignee_id if conv is not None else None
    if user_id is None:
        return
    state = await repo.state_of(session, event.workspace_id, int(user_id))
    if state is None or state.status != Presence.online.value:
        return
    for queue_id in await repo.member_queue_ids(session, int(user_id)):
        await request_assignment(session, event.workspace_id, queue_id)


def register() -> None:
    hooks.on("conversation.created", _on_queued)
    hooks.on("conversation.queued", _on_queued)
    hooks.on("conversation.resolved", _on_freed)
    hooks.on("conversation.unassigned", _on_freed)
