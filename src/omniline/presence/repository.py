"""Queries of presence and assignment. Every query is filtered by workspace."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from functools import cache
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    bindparam,
    false,
    func,
    literal_column,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from omniline.conversations.models import Conversation, Status
from omniline.presence.models import (
    DEFAULT_CAPACITY,
    AgentSkill,
    AgentState,
    ChannelKind,
    Offer,
    Presence,
    PresenceSettings,
    QueueRouting,
    Strategy,
    kind_of,
)
from omniline.presence.strategies import Candidate, sql_order
from omniline.workspaces.models import QueueMember

# What counts against an agent's capacity: conversations they are working on.
LOAD_STATUSES = (Status.assigned.value, Status.waiting_customer.value)


def is_postgres(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


async def sqlite_write_lock(session: AsyncSession) -> None:
    """SQLite: take the database's single write lock now, so what we read next is current.

    Python's sqlite3 begins a transaction at the first write; from then on no other
    writer can commit until we do, which makes SQLite's assigners a single writer.
    PostgreSQL locks rows instead (see :mod:`omniline.presence.assignment`).
    """
    if not is_postgres(session):
        await session.execute(
            update(AgentState).where(AgentState.user_id == 0).values(status=AgentState.status)
        )


def const(value: str) -> ColumnElement[Any]:
    """One of our own constants (never user input) as an SQL literal, not a bind parameter.

    PostgreSQL switches a prepared statement to a generic plan after five runs, and a
    generic plan uses a partial index (``ix_conv_waiting``) only when the statement's
    literals imply its predicate: with ``status = $3`` it sorted the whole queue instead.
    """
    return literal_column(f"'{value}'")


# Calls wait for the phone's ACD (channels/voice), never for this engine or take-next.
PHONE_ACD = frozenset({ChannelKind.voice})

LOAD_SQL = tuple(const(s) for s in LOAD_STATUSES)
QUEUED_SQL = const(Status.queued.value)
ONLINE_SQL = const(Presence.online.value)


def kinds_clause(kinds: set[ChannelKind] | frozenset[ChannelKind]) -> ColumnElement[bool]:
    """SQL form of :func:`kind_of`: conversations whose channel is of one of ``kinds``."""
    named = {ChannelKind.email: ["email"], ChannelKind.voice: ["voice", "phone"]}
    if not kinds:
        return false()
    if ChannelKind.chat in kinds:
        others = [const(c) for k, chans in named.items() if k not in kinds for c in chans]
        return Conversation.channel.not_in(others) if others else true()
    return or_(*(Conversation.channel.in_([const(c) for c in named[k]]) for k in kinds))


async def settings_of(session: AsyncSession, workspace_id: int) -> PresenceSettings:
    row = await session.get(PresenceSettings, workspace_id)
    if row is None:
        row = PresenceSettings(
            workspace_id=workspace_id,
            chat=DEFAULT_CAPACITY[ChannelKind.chat],
            email=DEFAULT_CAPACITY[ChannelKind.email],
            voice=DEFAULT_CAPACITY[ChannelKind.voice],
            requeue_on_away=False,
        )
    return row


def capacity(state: AgentState | None, defaults: PresenceSettings, kind: ChannelKind) -> int:
    override = getattr(state, f"{kind.value}_capacity", None) if state is not None else None
    return int(override if override is not None else getattr(defaults, kind.value))


async def routing_of(session: AsyncSession, workspace_id: int, queue_id: int) -> QueueRouting:
    row = await session.get(QueueRouting, queue_id)
    if row is None or row.workspace_id != workspace_id:
        row = QueueRouting(
            queue_id=queue_id,
            workspace_id=workspace_id,
            strategy=Strategy.longest_idle.value,
            auto_assign=True,
            requires_acceptance=False,
            acceptance_seconds=30,
        )
    return row


async def state_of(session: AsyncSession, workspace_id: int, user_id: int) -> AgentState | None:
    return await session.scalar(
        select(AgentState).where(
            AgentState.user_id == user_id, AgentState.workspace_id == workspace_id
        )
    )


async def lock_state(
    session: AsyncSession, workspace_id: int, user_id: int, *, skip_locked: bool = False
) -> AgentState | None:
    """The agent's state row, locked until commit (PostgreSQL), re-read from the database."""
    stmt = (
        select(AgentState)
        .where(AgentState.user_id == user_id, AgentState.workspace_id == workspace_id)
        .execution_options(populate_existing=True)
    )
    if is_postgres(session):
        stmt = stmt.with_for_update(skip_locked=skip_locked)
    return await session.scalar(stmt)


async def loads(
    session: AsyncSession, user_ids: Iterable[int]
) -> dict[int, dict[ChannelKind, int]]:
    """Open conversations per agent and channel kind."""
    ids = sorted(set(user_ids))
    out: dict[int, dict[ChannelKind, int]] = defaultdict(lambda: dict.fromkeys(ChannelKind, 0))
    if not ids:
        return out
    rows = await session.execute(
        select(Conversation.assignee_id, Conversation.channel, func.count())
        .where(Conversation.assignee_id.in_(ids), Conversation.status.in_(LOAD_SQL))
        .group_by(Conversation.assignee_id, Conversation.channel)
    )
    for user_id, channel, n in rows:
        if user_id is not None:
            out[int(user_id)][kind_of(channel)] += int(n)
    return out


async def load_of(session: AsyncSession, user_id: int, kind: ChannelKind) -> int:
    return (await loads(session, [user_id]))[user_id][kind]


# The decision's statements are built once per variant and executed with bind parameters:
# no per-call construction, and SQLAlchemy's compiled cache and asyncpg's prepared
# statements are hit every time.


@cache
def _candidates_stmt(kind: ChannelKind, strategy: Strategy, limit: int | None, more: bool) -> Any:
    override = getattr(AgentState, f"{kind.value}_capacity")
    queue_id = bindparam("queue_id", type_=BigInteger)
    stmt = (
        select(
            AgentState.user_id,
            AgentState.idle_since,
            func.coalesce(AgentSkill.level, 0),
            getattr(AgentState, f"{kind.value}_load"),
            func.coalesce(override, bindparam("default", type_=Integer)),
        )
        .join(
            QueueMember,
            (QueueMember.user_id == AgentState.user_id) & (QueueMember.queue_id == queue_id),
        )
        .outerjoin(
            AgentSkill,
            (AgentSkill.user_id == AgentState.user_id) & (AgentSkill.queue_id == queue_id),
        )
        .where(
            AgentState.workspace_id == bindparam("workspace_id", type_=BigInteger),
            AgentState.status == ONLINE_SQL,
        )
        .order_by(*sql_order(strategy, bindparam("last_user_id", type_=BigInteger)))
    )
    return _paged(stmt, limit, more)


def _paged(stmt: Any, limit: int | None, more: bool) -> Any:
    # LIMIT a literal and OFFSET only past the first page: with a bound LIMIT or OFFSET
    # the generic plan looks costly to PostgreSQL, which then plans every run afresh.
    if limit is not None:
        stmt = stmt.limit(literal_column(str(int(limit))))
    return stmt.offset(bindparam("offset", type_=Integer)) if more else stmt


@cache
def _least_loaded_stmt(kind: ChannelKind, limit: int | None, more: bool) -> Any:
    """Candidates with room, fewest open conversations first, a page at a time.

    The load is the agent's ``<kind>_load`` column (recounted at each commit that changes
    their conversations, presence/loads.py): no count of conversations at decision time.
    The order (load, skill level, idle clock) spans two tables, so every online member is
    read and the best page kept. Whether the chosen agent really has room is counted again
    under their lock (``count_load``).
    """
    override = getattr(AgentState, f"{kind.value}_capacity")
    queue_id = bindparam("queue_id", type_=BigInteger)
    load = getattr(AgentState, f"{kind.value}_load")
    level = func.coalesce(AgentSkill.level, 0)
    cap = func.coalesce(override, bindparam("default", type_=Integer))
    stmt = (
        select(AgentState.user_id, AgentState.idle_since, level, load, cap)
        .join(
            QueueMember,
            (QueueMember.user_id == AgentState.user_id) & (QueueMember.queue_id == queue_id),
        )
        .outerjoin(
            AgentSkill,
            (AgentSkill.user_id == AgentState.user_id) & (AgentSkill.queue_id == queue_id),
        )
        .where(
            AgentState.workspace_id == bindparam("workspace_id", type_=BigInteger),
            AgentState.status == ONLINE_SQL,
            load < cap,
        )
        # The order of strategies.rank for least_loaded.
        .order_by(load, level.desc(), AgentState.idle_since, AgentState.user_id)
    )
    return _paged(stmt, limit, more)


async def candidates(
    session: AsyncSession,
    workspace_id: int,
    queue_id: int,
    strategy: Strategy,
    last_user_id: int | None,
    kind: ChannelKind,
    default_capacity: int,
    *,
    offset: int = 0,
    limit: int | None = None,
) -> list[Candidate]:
    """Online members of the queue in the strategy's SQL order, with load and capacity.

    One statement; the loads are the agents' ``<kind>_load`` columns. Longest idle and
    round robin read in the order of ``ix_agent_states_ws_status`` (workspace, status, idle
    clock) and stop at the page.
    """
    params = {
        "queue_id": queue_id,
        "workspace_id": workspace_id,
        "last_user_id": last_user_id or 0,
        "default": default_capacity,
        "offset": offset,
    }
    if strategy == Strategy.least_loaded:
        stmt = _least_loaded_stmt(kind, limit, offset > 0)
    else:
        stmt = _candidates_stmt(kind, strategy, limit, offset > 0)
    rows = await session.execute(stmt, params)
    return [Candidate(int(u), idle, int(lv), int(ld), int(cap)) for u, idle, lv, ld, cap in rows]


@cache
def _lock_agent_stmt(kind: ChannelKind, pg: bool) -> Any:
    override = getattr(AgentState, f"{kind.value}_capacity")
    stmt = select(
        AgentState.status.label("status"),
        func.coalesce(override, bindparam("default", type_=Integer)).label("capacity"),
    ).where(
        AgentState.user_id == bindparam("user_id", type_=BigInteger),
        AgentState.workspace_id == bindparam("workspace_id", type_=BigInteger),
    )
    return stmt.with_for_update(skip_locked=True, of=AgentState) if pg else stmt


async def lock_agent(
    session: AsyncSession, workspace_id: int, user_id: int, kind: ChannelKind, default: int
) -> tuple[str, int] | None:
    """Lock the agent's row, skipping it when another assigner holds it: (status, capacity)."""
    params = {"user_id": user_id, "workspace_id": workspace_id, "default": default}
    row = (await session.execute(_lock_agent_stmt(kind, is_postgres(session)), params)).first()
    return (str(row[0]), int(row[1])) if row is not None else None


@cache
def _count_load_stmt(kind: ChannelKind) -> Any:
    return select(func.count()).where(
        Conversation.assignee_id == bindparam("user_id", type_=BigInteger),
        Conversation.status.in_(LOAD_SQL),
        kinds_clause({kind}),
    )


async def count_load(session: AsyncSession, user_id: int, kind: ChannelKind) -> int:
    return int(await session.scalar(_count_load_stmt(kind), {"user_id": user_id}) or 0)


@cache
def _next_waiting_stmt(kinds: frozenset[ChannelKind], many: bool, pg: bool) -> Any:
    queue = (
        Conversation.queue_id.in_(bindparam("queue_ids", expanding=True))
        if many
        else Conversation.queue_id == bindparam("queue_id", type_=BigInteger)
    )
    stmt = (
        select(Conversation)
        .where(
            Conversation.workspace_id == bindparam("workspace_id", type_=BigInteger),
            queue,
            Conversation.status == QUEUED_SQL,
            Conversation.assignee_id.is_(None),
        )
        .order_by(Conversation.priority.desc(), Conversation.first_queued_at, Conversation.id)
        .limit(literal_column("1"))  # a bound LIMIT leaves the generic plan guessing
        .execution_options(populate_existing=True)
    )
    if kinds != frozenset(ChannelKind):
        stmt = stmt.where(kinds_clause(kinds))
    return stmt.with_for_update(skip_locked=True, of=Conversation) if pg else stmt


async def next_waiting(
    session: AsyncSession,
    workspace_id: int,
    queue_ids: list[int],
    *,
    skip_kinds: Iterable[ChannelKind] = (),
) -> Conversation | None:
    """The queue's next conversation: priority first, then the longest waiting.

    PostgreSQL: locked with SKIP LOCKED, so a concurrent assigner takes the next one.
    """
    many = len(queue_ids) != 1
    kinds = frozenset(ChannelKind) - frozenset(skip_kinds) - PHONE_ACD
    stmt = _next_waiting_stmt(kinds, many, is_postgres(session))
    params: dict[str, Any] = {"workspace_id": workspace_id}
    params.update({"queue_ids": list(queue_ids)} if many else {"queue_id": queue_ids[0]})
    return await session.scalar(stmt, params)


@cache
def _next_with_agent_stmt(kinds: frozenset[ChannelKind], kind: ChannelKind, pg: bool) -> Any:
    nxt = _next_waiting_stmt(kinds, False, pg).cte("next_conv")
    agent = _lock_agent_stmt(kind, pg).cte("agent")
    return (
        select(aliased(Conversation, nxt), agent.c.status, agent.c.capacity)
        .outerjoin(agent, true())
        .execution_options(populate_existing=True)
    )


async def next_waiting_with_agent(
    session: AsyncSession,
    workspace_id: int,
    queue_id: int,
    skip_kinds: Iterable[ChannelKind],
    agent: tuple[int, ChannelKind, int],
) -> tuple[Conversation | None, tuple[str, int] | None]:
    """:func:`next_waiting` and :func:`lock_agent` of a likely agent in one round trip.

    ``agent`` is (user id, channel kind, default capacity) of whom the engine will try
    first if the conversation is of that kind. Both rows are locked as the two
    statements would lock them (``SKIP LOCKED``); the agent only when a conversation
    was found. The load must still be counted by a later statement: a statement's
    snapshot predates the locks it takes.
    """
    user_id, kind, default = agent
    kinds = frozenset(ChannelKind) - frozenset(skip_kinds) - PHONE_ACD
    stmt = _next_with_agent_stmt(kinds, kind, is_postgres(session))
    params = {"workspace_id": workspace_id, "queue_id": queue_id, "user_id": user_id}
    row = (await session.execute(stmt, params | {"default": default})).first()
    if row is None:
        return None, None
    conv, status, cap = row
    return conv, (str(status), int(cap)) if status is not None else None


async def lock_conversation(
    session: AsyncSession, workspace_id: int, conv_id: int
) -> Conversation | None:
    stmt = (
        select(Conversation)
        .where(Conversation.id == conv_id, Conversation.workspace_id == workspace_id)
        .execution_options(populate_existing=True)
    )
    if is_postgres(session):
        stmt = stmt.with_for_update(of=Conversation)
    return await session.scalar(stmt)


async def open_of_agent(
    session: AsyncSession, workspace_id: int, user_id: int, channels_not: Iterable[str] = ()
) -> list[Conversation]:
    stmt = (
        select(Conversation)
        .where(
            Conversation.workspace_id == workspace_id,
            Conversation.assignee_id == user_id,
            Conversation.status.in_(LOAD_SQL),
        )
        .order_by(Conversation.id)
        .execution_options(populate_existing=True)
    )
    skip = sorted(set(channels_not))
    if skip:
        stmt = stmt.where(Conversation.channel.not_in(skip))
    if is_postgres(session):
        stmt = stmt.with_for_update(of=Conversation)
    return list(await session.scalars(stmt))


async def member_queue_ids(session: AsyncSession, user_id: int) -> list[int]:
    rows = await session.scalars(
        select(QueueMember.queue_id).where(QueueMember.user_id == user_id).order_by("queue_id")
    )
    return list(rows)


async def pending_offers(session: AsyncSession, workspace_id: int, user_id: int) -> list[Offer]:
    return list(
        await session.scalars(
            select(Offer)
            .where(
                Offer.workspace_id == workspace_id,
                Offer.assignee_id == user_id,
                Offer.accepted_at.is_(None),
            )
            .order_by(Offer.offered_at)
        )
    )


async def states_of(session: AsyncSession, workspace_id: int) -> dict[int, AgentState]:
    rows = await session.scalars(select(AgentState).where(AgentState.workspace_id == workspace_id))
    return {s.user_id: s for s in rows}


async def skills_of(session: AsyncSession, workspace_id: int, user_id: int) -> dict[int, int]:
    rows = await session.execute(
        select(AgentSkill.queue_id, AgentSkill.level).where(
            AgentSkill.workspace_id == workspace_id, AgentSkill.user_id == user_id
        )
    )
    return {int(q): int(level) for q, level in rows}
