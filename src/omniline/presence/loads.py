"""Each agent's open conversations per channel kind, kept on their state row.

``agent_states.chat_load``, ``email_load`` and ``voice_load`` count the conversations an
agent holds open (assigned or waiting for the customer), so least-loaded assignment reads
agents in the order of an index (workspace, status, load, idle clock) instead of counting
and sorting every member of the queue (repository._least_loaded_stmt). They order the
candidates only: whether an agent has room is always counted afresh under their lock.

How they stay right:

- A flush that inserts or deletes a conversation with an assignee, or changes a
  conversation's assignee, status or channel, notes the agents concerned (the one before and
  the one after): SQLAlchemy's ``before_flush``, so every path through the ORM is covered.
  A new state row is noted too, so it starts from what the user already holds. A bulk
  ``update(Conversation)`` or ``delete(Conversation)`` run through a session notes the
  assignees of the rows it matches, and the assignee it sets (``do_orm_execute``). A
  statement run on a bare connection calls :func:`note` itself.
- When the transaction commits (``before_commit``, ahead of the presence history), the noted
  agents' loads are recounted from their conversations. On PostgreSQL their state rows are
  first locked in the order of agent ids, so the count, a new statement, sees every
  transaction that committed before the lock was granted; two transactions changing the
  same agents wait for each other, in the same order, and cannot deadlock on these rows.
  SQLite has one writer.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import BigInteger, bindparam, event, func, inspect, select, update
from sqlalchemy.orm import ORMExecuteState, Session

from omniline.conversations.models import Conversation
from omniline.presence import repository as repo
from omniline.presence.models import AgentState, ChannelKind

_PENDING = "presence_loads_pending"


def note(session: Any, *user_ids: int | None) -> None:
    """These agents' loads may change in this transaction: recount them when it commits."""
    pending: set[int] = session.info.setdefault(_PENDING, set())
    pending.update(u for u in user_ids if u is not None)


def _concerned(conv: Conversation) -> list[int | None]:
    """The assignees before and after a change of the conversation, if it moves a load.

    A status that stays open (assigned <-> waiting for the customer, at every message) or
    stays closed moves nothing.
    """
    attrs = inspect(conv).attrs
    assignee, status = attrs.assignee_id.history, attrs.status.history
    moved = assignee.has_changes() or attrs.channel.history.has_changes()
    if not moved and status.has_changes():
        now_open = conv.status in repo.LOAD_STATUSES
        # An old value not loaded counts as a move.
        moved = not status.deleted or any(
            (old in repo.LOAD_STATUSES) != now_open for old in status.deleted
        )
    return [conv.assignee_id, *assignee.deleted] if moved else []


@event.listens_for(Session, "before_flush")
def _on_flush(session: Session, _context: Any, _instances: Any) -> None:
    for obj in session.new:
        if isinstance(obj, Conversation):
            note(session, obj.assignee_id)
        elif isinstance(obj, AgentState):
            note(session, obj.user_id)
    for obj in session.deleted:
        if isinstance(obj, Conversation):
            note(session, obj.assignee_id, *inspect(obj).attrs.assignee_id.history.deleted)
    for obj in session.dirty:
        if isinstance(obj, Conversation):
            note(session, *_concerned(obj))


@event.listens_for(Session, "do_orm_execute")
def _on_execute(state: ORMExecuteState) -> None:
    if not (state.is_update or state.is_delete):
        return
    mapper = state.bind_mapper
    if mapper is None or mapper.class_ is not Conversation:
        return
    stmt: Any = state.statement
    matched = select(Conversation.assignee_id).where(Conversation.assignee_id.is_not(None))
    if stmt.whereclause is not None:
        matched = matched.where(stmt.whereclause)
    note(state.session, *state.session.scalars(matched.distinct()))
    if state.is_update:
        new = stmt.compile().params.get("assignee_id")
        if isinstance(new, int):
            note(state.session, new)


@cache
def _recount_stmt() -> Any:
    def count(kind: ChannelKind) -> Any:
        return (
            select(func.count())
            .where(
                Conversation.workspace_id == AgentState.workspace_id,
                Conversation.assignee_id == AgentState.user_id,
                Conversation.status.in_(repo.LOAD_SQL),
                repo.kinds_clause({kind}),
            )
            .scalar_subquery()
        )

    return (
        update(AgentState)
        .where(AgentState.user_id.in_(bindparam("ids", expanding=True, type_=BigInteger)))
        .values({f"{kind.value}_load": count(kind) for kind in ChannelKind})
        .execution_options(synchronize_session=False)
    )


@cache
def _lock_stmt() -> Any:
    return (
        select(AgentState.user_id)
        .where(AgentState.user_id.in_(bindparam("ids", expanding=True, type_=BigInteger)))
        .order_by(AgentState.user_id)
        .with_for_update()
    )


def recount(session: Session, user_ids: set[int]) -> None:
    """Lock (PostgreSQL) and recount these agents' loads, in the order of their ids."""
    ids = sorted(user_ids)
    if session.get_bind().dialect.name == "postgresql":
        session.execute(_lock_stmt(), {"ids": ids}).all()
    session.execute(_recount_stmt(), {"ids": ids})


def _on_commit(session: Session) -> None:
    if session.get_nested_transaction() is not None:
        return  # a savepoint: the transaction goes on
    session.flush()
    pending: set[int] | None = session.info.pop(_PENDING, None)
    if pending:
        recount(session, pending)


# First among the commit hooks: these row locks come before the presence history's.
event.listen(Session, "before_commit", _on_commit, insert=True)
