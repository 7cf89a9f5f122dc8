"""Queries of the SLA domain. Every query of tenant data is filtered by workspace."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.sla.models import BusinessCalendar, SlaDue, SlaPolicy, SlaTimer
from omniline.workspaces.models import Queue


async def calendars(session: AsyncSession, workspace_id: int) -> list[BusinessCalendar]:
    return list(
        await session.scalars(
            select(BusinessCalendar)
            .where(BusinessCalendar.workspace_id == workspace_id)
            .order_by(BusinessCalendar.name, BusinessCalendar.id)
        )
    )


async def calendar_by_name(
    session: AsyncSession, workspace_id: int, name: str
) -> BusinessCalendar | None:
    return await session.scalar(
        select(BusinessCalendar).where(
            BusinessCalendar.workspace_id == workspace_id, BusinessCalendar.name == name
        )
    )


async def policies(session: AsyncSession, workspace_id: int) -> list[SlaPolicy]:
    return list(
        await session.scalars(
            select(SlaPolicy)
            .where(SlaPolicy.workspace_id == workspace_id)
            .order_by(SlaPolicy.name, SlaPolicy.id)
        )
    )


async def policy(session: AsyncSession, workspace_id: int, policy_id: int) -> SlaPolicy | None:
    return await session.scalar(
        select(SlaPolicy).where(SlaPolicy.id == policy_id, SlaPolicy.workspace_id == workspace_id)
    )


async def policy_by_name(session: AsyncSession, workspace_id: int, name: str) -> SlaPolicy | None:
    return await session.scalar(
        select(SlaPolicy).where(SlaPolicy.workspace_id == workspace_id, SlaPolicy.name == name)
    )


_POLICIES = "sla.active_policies"  # session.info key: {queue id: policy or None}


def forget_policies(session: AsyncSession) -> None:
    """A policy was written in this transaction: the next lookup reads them again."""
    session.info.pop(_POLICIES, None)


async def active_policy_for_queue(session: AsyncSession, queue_id: int) -> SlaPolicy | None:
    """The queue's active policy, read once per transaction and queue.

    A batch of new conversations asked for it twice each (created, then queued).
    """
    tx = session.sync_session.get_transaction()
    held = session.info.get(_POLICIES)
    if held is None or held[0] is not tx:  # a new transaction: read afresh
        held = session.info[_POLICIES] = (tx, {})
    known: dict[int, SlaPolicy | None] = held[1]
    if queue_id not in known:
        known[queue_id] = await session.scalar(
            select(SlaPolicy).where(SlaPolicy.queue_id == queue_id, SlaPolicy.active.is_(True))
        )
    return known[queue_id]


async def policies_using_calendar(session: AsyncSession, calendar_id: int) -> list[SlaPolicy]:
    return list(
        await session.scalars(select(SlaPolicy).where(SlaPolicy.calendar_id == calendar_id))
    )


async def queue(session: AsyncSession, workspace_id: int, queue_id: int) -> Queue | None:
    return await session.scalar(
        select(Queue).where(Queue.id == queue_id, Queue.workspace_id == workspace_id)
    )


async def queues(session: AsyncSession, workspace_id: int) -> list[Queue]:
    return list(
        await session.scalars(
            select(Queue).where(Queue.workspace_id == workspace_id).order_by(Queue.name)
        )
    )


async def open_timers(session: AsyncSession, conversation_id: int) -> list[SlaTimer]:
    """Timers still counting: neither satisfied nor cancelled (breached ones included)."""
    return list(
        await session.scalars(
            select(SlaTimer)
            .where(
                SlaTimer.conversation_id == conversation_id,
                SlaTimer.satisfied_at.is_(None),
                SlaTimer.cancelled_at.is_(None),
            )
            .order_by(SlaTimer.due_at, SlaTimer.id)
        )
    )


async def open_timers_of(
    session: AsyncSession, conversation_ids: list[int]
) -> dict[int, list[SlaTimer]]:
    """:func:`open_timers` of several conversations, by conversation id."""
    out: dict[int, list[SlaTimer]] = {}
    if not conversation_ids:
        return out
    rows = await session.scalars(
        select(SlaTimer)
        .where(
            SlaTimer.conversation_id.in_(sorted(set(conversation_ids))),
            SlaTimer.satisfied_at.is_(None),
            SlaTimer.cancelled_at.is_(None),
        )
        .order_by(SlaTimer.due_at, SlaTimer.id)
    )
    for timer in rows:
        out.setdefault(timer.conversation_id, []).append(timer)
    return out


async def timers_of(session: AsyncSession, conversation_id: int) -> list[SlaTimer]:
    return list(
        await session.scalars(
            select(SlaTimer)
            .where(SlaTimer.conversation_id == conversation_id)
            .order_by(SlaTimer.id)
        )
    )


async def dues(session: AsyncSession, conversation_ids: Sequence[int]) -> dict[int, SlaDue]:
    if not conversation_ids:
        return {}
    rows = await session.scalars(
        select(SlaDue).where(SlaDue.conversation_id.in_(sorted(set(conversation_ids))))
    )
    return {d.conversation_id: d for d in rows}


async def put_dues(
    session: AsyncSession, dues: Sequence[tuple[int, dict[str, Any] | None]]
) -> None:
    """Upsert the due rows of some conversations and delete those of others (``None``).

    An upsert, not read-then-write: a breach job and a reply may race on a row. One
    statement for each kind, whatever the number of conversations.
    """
    gone = [conv_id for conv_id, values in dues if values is None]
    rows = [{"conversation_id": conv_id, **values} for conv_id, values in dues if values]
    if gone:
        await session.execute(delete(SlaDue).where(SlaDue.conversation_id.in_(gone)))
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(SlaDue).values(rows)
    updates = {k: getattr(stmt.excluded, k) for k in rows[0] if k != "conversation_id"}
    await session.execute(
        stmt.on_conflict_do_update(index_elements=["conversation_id"], set_=updates)
    )
