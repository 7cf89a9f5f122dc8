"""Each agent's open conversations per channel kind, kept on their state row.

``agent_states.chat_load``, ``email_load`` and ``voice_load`` count the conversations an
agent holds open (assigned or waiting for the customer), so least-loaded assignment reads
them instead of counting every open conversation of the workspace at each decision
(repository._least_loaded_stmt). They order the candidates only: whether an agent has room
is always counted afresh under their lock.

How they stay right:

- A flush that inserts or deletes a conversation with an assignee, or changes a
  conversation's assignee, status or channel, records what it moves: minus one for the
  kind and agent it leaves, plus one for those it joins (SQLAlchemy's ``before_flush``; the
  model keeps the values it replaces, ``active_history``). A status that stays open
  (assigned <-> waiting for the customer, at every message) moves nothing.
- A bulk ``update(Conversation)`` or ``delete(Conversation)`` run through a session, a new
  state row, or :func:`note` asks for a recount of the agents concerned instead: the
  assignees of the rows the statement matches and the one it sets (``do_orm_execute``).
- When the transaction commits (``before_commit``, ahead of the presence history), the moves
  are added to the rows (``load = load + n``, which PostgreSQL applies to the latest
  version of a row it had to wait for) and the recounts made, one agent after another in
  the order of their ids, so two transactions changing the same agents wait for each other
  in the same order and cannot deadlock on these rows. A recount on PostgreSQL first locks
  the rows, so that its count, a new statement, sees whatever committed before the lock was
  granted. SQLite has one writer.
"""

from __future__ import annotations

from collections import defaultdict
from functools import cache
from typing import Any

from sqlalchemy import BigInteger, Integer, bindparam, event, func, inspect, select, update
from sqlalchemy.orm import ORMExecuteState, Session

from omniline.conversations.models import Conversation
from omniline.presence import repository as repo
from omniline.presence.models import AgentState, ChannelKind, kind_of

_MOVES = "presence_loads_moves"
_RECOUNT = "presence_loads_recount"
_KINDS = tuple(ChannelKind)


def note(session: Any, *user_ids: int | None) -> None:
    """Recount these agents' loads when the transaction commits (changes made without the
    ORM, a new state row)."""
    pending: set[int] = session.info.setdefault(_RECOUNT, set())
    pending.update(u for u in user_ids if u is not None)


def _move(session: Session, user_id: Any, status: Any, channel: Any, by: int) -> None:
    if user_id is None or status not in repo.LOAD_STATUSES or channel is None:
        return
    moves: dict[int, dict[ChannelKind, int]] = session.info.setdefault(
        _MOVES, defaultdict(lambda: dict.fromkeys(_KINDS, 0))
    )
    moves[int(user_id)][kind_of(str(channel))] += by


def _before(obj: Conversation, name: str) -> Any:
    """The value the database holds (the one a change replaces)."""
    history = inspect(obj).attrs[name].history
    if history.deleted:
        return history.deleted[0]
    if history.unchanged:
        return history.unchanged[0]
    return getattr(obj, name)


@event.listens_for(Session, "before_flush")
def _on_flush(session: Session, _context: Any, _instances: Any) -> None:
    for obj in session.new:
        if isinstance(obj, Conversation):
            _move(session, obj.assignee_id, obj.status, obj.channel, +1)
        elif isinstance(obj, AgentState):
            note(session, obj.user_id)
    for obj in session.deleted:
        if isinstance(obj, Conversation):
            old = (_before(obj, "assignee_id"), _before(obj, "status"), _before(obj, "channel"))
            _move(session, *old, -1)
    for obj in session.dirty:
        if not isinstance(obj, Conversation):
            continue
        attrs = inspect(obj).attrs
        if not any(attrs[n].history.has_changes() for n in ("assignee_id", "status", "channel")):
            continue
        _move(session, _before(obj, "assignee_id"), _before(obj, "status"),
              _before(obj, "channel"), -1)  # fmt: skip
        _move(session, obj.assignee_id, obj.status, obj.channel, +1)


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
        .where(AgentState.user_id == bindparam("uid", type_=BigInteger))
        .values({f"{kind.value}_load": count(kind) for kind in ChannelKind})
        .execution_options(synchronize_session=False)
    )


@cache
def _add_stmt() -> Any:
    # The table, not the entity: with a list of parameters an ORM update is a bulk update by
    # primary key, which wants the values by attribute.
    table: Any = AgentState.__table__
    return (
        update(table)
        .where(table.c.user_id == bindparam("uid", type_=BigInteger))
        .values(
            {
                f"{kind.value}_load": table.c[f"{kind.value}_load"]
                + bindparam(kind.value, type_=Integer)
                for kind in ChannelKind
            }
        )
    )


@cache
def _lock_stmt() -> Any:
    return (
        select(AgentState.user_id)
        .where(AgentState.user_id.in_(bindparam("ids", expanding=True, type_=BigInteger)))
        .order_by(AgentState.user_id)
        .with_for_update()
    )


def apply(session: Session, moves: dict[int, dict[ChannelKind, int]], recount: set[int]) -> None:
    """Add the moves and make the recounts, in the order of agent ids."""
    moved = {u: m for u, m in moves.items() if u not in recount and any(m.values())}
    ids = sorted(recount | set(moved))
    if not recount:  # the usual case: one statement for every agent, in order
        rows = [{"uid": u, **{k.value: moved[u][k] for k in _KINDS}} for u in ids]
        if rows:
            session.execute(_add_stmt(), rows)
        return
    if session.get_bind().dialect.name == "postgresql":
        session.execute(_lock_stmt(), {"ids": ids}).all()
    for user_id in ids:
        if user_id in recount:
            session.execute(_recount_stmt(), {"uid": user_id})
        else:
            m = moved[user_id]
            session.execute(_add_stmt(), {"uid": user_id, **{k.value: m[k] for k in _KINDS}})


def _on_commit(session: Session) -> None:
    if session.get_nested_transaction() is not None:
        return  # a savepoint: the transaction goes on
    session.flush()
    moves = session.info.pop(_MOVES, None) or {}
    recount = session.info.pop(_RECOUNT, None) or set()
    if moves or recount:
        apply(session, moves, recount)


def _on_rollback(session: Session, _previous: Any) -> None:
    if session.get_nested_transaction() is None:
        session.info.pop(_MOVES, None)
        session.info.pop(_RECOUNT, None)


# First among the commit hooks: these row locks come before the presence history's.
event.listen(Session, "before_commit", _on_commit, insert=True)
event.listen(Session, "after_soft_rollback", _on_rollback)
