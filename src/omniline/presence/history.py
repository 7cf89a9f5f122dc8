"""The agents' state history (``presence_intervals``), written in the transaction of the change.

An interval ends and the next begins whenever the agent's presence status changes
(:func:`omniline.presence.service.do_set_presence`, the one way a status changes: the agent's
own choice, the phone's on-call and wrap-up, a deactivated account going offline) or whenever
the agent starts or stops holding at least one open chat (an assigned or waiting-for-customer
conversation of a written channel other than email): the conversation events below.

Letters are left out: they stay with their agent for hours, offline included, and say nothing
about whether the agent is busy now. Calls are left out too, because the phone says it
better: every call an agent takes puts them on ``on_call`` and then ``wrap_up`` (the voice
controller, for Asterisk and CTI alike), while the call's conversation stays assigned after
the agent has left it, as long as the caller listens to the goodbye or rates the call.

How: a change only *notes* the agent (:func:`note`, with the instant of the change). When the
transaction commits (SQLAlchemy's ``before_commit``, so every commit path is covered), each
noted agent's open row is locked, in the order of agent ids, and compared with the truth at
that moment: the status in ``agent_states`` and whether the agent holds an open chat. If they
differ, the open row ends at the noted instant and the next begins there. So:

- a transaction leaves at most one new interval per agent, however many changes it made;
- the history locks are the last locks a transaction takes, always in the same order, so two
  transactions touching the same agents (an assignment batch, a supervisor moving a chat from
  one agent to another) wait for each other and never deadlock;
- what is written is read from the database after the lock, so two transactions racing on
  one agent leave the state of whichever committed last; a partial unique index keeps one
  open row per agent.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import BigInteger, bindparam, event, exists, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

from omniline.conversations.models import Conversation
from omniline.kit import hooks
from omniline.kit.clock import utcnow
from omniline.kit.hooks import DomainEvent
from omniline.presence import repository as repo
from omniline.presence.models import (
    AgentState,
    ChannelKind,
    Presence,
    PresenceInterval,
    kind_of,
)

# What counts as holding work: chats, not letters or calls (see the module's docstring).
HANDLING_KINDS = frozenset({ChannelKind.chat})
_PENDING = "presence_history_pending"
_ATTEMPTS = 3


def note(
    session: AsyncSession | Session, workspace_id: int, user_id: int, at: datetime | None = None
) -> None:
    """The agent's state may change in this transaction, at ``at`` (default now): their
    history is brought in line when it commits. The earliest instant noted is the boundary."""
    pending: dict[int, tuple[int, datetime]] = session.info.setdefault(_PENDING, {})
    at = at or utcnow()
    before = pending.get(user_id)
    pending[user_id] = (workspace_id, min(before[1], at) if before else at)


@cache
def _holds_stmt() -> Any:
    return select(
        exists().where(
            Conversation.assignee_id == bindparam("user_id", type_=BigInteger),
            Conversation.status.in_(repo.LOAD_SQL),
            repo.kinds_clause(set(HANDLING_KINDS)),
        )
    )


def _lock_open(session: Session, pg: bool, user_id: int) -> PresenceInterval | None:
    stmt = (
        select(PresenceInterval)
        .where(PresenceInterval.user_id == user_id, PresenceInterval.ended_at.is_(None))
        .execution_options(populate_existing=True)
    )
    if not pg:
        return session.scalar(stmt)  # SQLite: this transaction holds the write lock
    stmt = stmt.with_for_update()
    row = session.scalar(stmt)
    if row is None:
        # The open row we waited for was closed meanwhile, and its successor came after this
        # statement's snapshot: a new statement sees it.
        row = session.scalar(stmt)
    return row


def _insert_open(
    session: Session,
    pg: bool,
    workspace_id: int,
    user_id: int,
    status: str,
    handling: bool,
    at: datetime,
) -> bool:
    """Open a row; False when another transaction opened one first."""
    values = {
        "workspace_id": workspace_id,
        "user_id": user_id,
        "status": status,
        "handling": handling,
        "started_at": at,
        "ended_at": None,
    }
    make: Any = pg_insert if pg else sqlite_insert
    stmt = (
        make(PresenceInterval)
        .values(values)
        .on_conflict_do_nothing(
            index_elements=["user_id"], index_where=PresenceInterval.ended_at.is_(None)
        )
        .returning(PresenceInterval.id)
    )
    return session.scalar(stmt) is not None


def _bring_in_line(
    session: Session, pg: bool, workspace_id: int, user_id: int, at: datetime
) -> None:
    for _ in range(_ATTEMPTS):
        row = _lock_open(session, pg, user_id)
        status = session.scalar(
            select(AgentState.status).where(
                AgentState.user_id == user_id, AgentState.workspace_id == workspace_id
            )
        )
        status = status or Presence.offline.value
        handling = bool(session.scalar(_holds_stmt(), {"user_id": user_id}))
        if row is not None and (row.status, row.handling) == (status, handling):
            return
        if row is None and status == Presence.offline.value and not handling:
            return  # no row already means offline and idle
        if row is not None:
            # Never before its start (a clock that stepped back): a row of no length instead.
            at = max(at, row.started_at)
            row.ended_at = at
            session.flush()
        if _insert_open(session, pg, workspace_id, user_id, status, handling, at):
            return
    raise RuntimeError(f"could not record the state of agent {user_id}")


@event.listens_for(Session, "before_commit")
def _on_commit(session: Session) -> None:
    """Write the noted agents' history: the last thing a transaction does (see above)."""
    if session.get_nested_transaction() is not None:
        return  # a savepoint: the transaction goes on
    pending: dict[int, tuple[int, datetime]] | None = session.info.pop(_PENDING, None)
    if not pending:
        return
    session.flush()
    pg = session.get_bind().dialect.name == "postgresql"
    left = _bring_many_in_line(session, pending) if pg and len(pending) > 1 else sorted(pending)
    for user_id in left:
        workspace_id, at = pending[user_id]
        _bring_in_line(session, pg, workspace_id, user_id, at)


def _bring_many_in_line(session: Session, pending: dict[int, tuple[int, datetime]]) -> list[int]:
    """PostgreSQL, several agents (a voice controller's batch): the same as
    :func:`_bring_in_line` for each, in five statements for all of them, their open rows
    locked in the order of agent ids. Returns the agents left to the one-by-one way: those
    without an open row (first shift: a row may be on its way from another transaction) and
    those whose new row another transaction opened first."""
    ids = sorted(pending)
    rows = {
        r.user_id: r
        for r in session.scalars(
            select(PresenceInterval)
            .where(PresenceInterval.user_id.in_(ids), PresenceInterval.ended_at.is_(None))
            .order_by(PresenceInterval.user_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    }
    statuses = {
        user_id: status
        for user_id, workspace_id, status in session.execute(
            select(AgentState.user_id, AgentState.workspace_id, AgentState.status).where(
                AgentState.user_id.in_(ids)
            )
        )
        if pending[user_id][0] == workspace_id
    }
    holding = set(
        session.scalars(
            select(Conversation.assignee_id)
            .where(
                Conversation.assignee_id.in_(ids),
                Conversation.status.in_(repo.LOAD_SQL),
                repo.kinds_clause(set(HANDLING_KINDS)),
            )
            .distinct()
        )
    )
    left: list[int] = []
    opened: list[dict[str, Any]] = []
    for user_id in ids:
        workspace_id, at = pending[user_id]
        status = statuses.get(user_id) or Presence.offline.value
        handling = user_id in holding
        row = rows.get(user_id)
        if row is None:
            if status != Presence.offline.value or handling:
                left.append(user_id)
            continue
        if (row.status, row.handling) == (status, handling):
            continue
        at = max(at, row.started_at)
        row.ended_at = at
        opened.append(
            {
                "workspace_id": workspace_id,
                "user_id": user_id,
                "status": status,
                "handling": handling,
                "started_at": at,
                "ended_at": None,
            }
        )
    if opened:
        session.flush()  # the rows ended first: one open row per agent (a partial index)
        stmt = (
            pg_insert(PresenceInterval)
            .values(opened)
            .on_conflict_do_nothing(
                index_elements=["user_id"], index_where=PresenceInterval.ended_at.is_(None)
            )
            .returning(PresenceInterval.user_id)
        )
        done = set(session.scalars(stmt))
        left += [v["user_id"] for v in opened if v["user_id"] not in done]
    return sorted(left)


@event.listens_for(Session, "after_transaction_end")
def _on_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # rolled back (a commit took them already)
        session.info.pop(_PENDING, None)


async def _on_conversations(session: AsyncSession, events: list[DomainEvent]) -> None:
    """Assigned, unassigned, resolved, reopened: the agents who may have started or stopped
    holding a chat."""
    for e in events:
        conv_id = e.data.get("conversation_id")
        if not isinstance(conv_id, int):
            continue
        conv = await session.get(Conversation, conv_id)
        if conv is None or kind_of(conv.channel) not in HANDLING_KINDS:
            continue
        for key in ("assignee_id", "previous_assignee_id"):
            user_id = e.data.get(key)
            if isinstance(user_id, int):
                note(session, e.workspace_id, user_id)
        if e.type in ("conversation.resolved", "conversation.reopened") and conv.assignee_id:
            note(session, e.workspace_id, conv.assignee_id)


async def _on_deactivated(session: AsyncSession, event: DomainEvent) -> None:
    """A disabled account cannot work: it goes offline like an agent who logs off (its chats
    and calls go back to their queues)."""
    from omniline.presence.service import do_set_presence

    user_id = event.data.get("user_id")
    if not isinstance(user_id, int):
        return
    state = await repo.state_of(session, event.workspace_id, user_id)
    if state is not None and state.status != Presence.offline.value:
        await do_set_presence(session, event.workspace_id, user_id, Presence.offline.value)


def register() -> None:
    for kind in (
        "conversation.assigned",
        "conversation.unassigned",
        "conversation.resolved",
        "conversation.reopened",
    ):
        hooks.on_batch(kind, _on_conversations)
    hooks.on("user.deactivated", _on_deactivated)
