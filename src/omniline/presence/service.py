"""Presence actions and settings: set my status, admin capacities, skills and queue routing.

Going offline (or away, where the workspace says so) hands the agent's open chats
and calls back to their queues: both ``assigned`` and ``waiting_customer`` ones,
because a customer who answers must find someone there. Letters stay with their
agent: email is answered hours later by design and is not worth reshuffling.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.auth import access
from omniline.auth.models import Role, User
from omniline.auth.principal import Principal
from omniline.conversations.transfers import do_requeue
from omniline.errors import Forbidden, Invalid, NotFound
from omniline.kit.clock import iso, utcnow
from omniline.presence import history
from omniline.presence import loads as agent_loads
from omniline.presence import repository as repo
from omniline.presence.assignment import offer_view, withdrawn
from omniline.presence.jobs import request_assignment
from omniline.presence.models import (
    AgentSkill,
    AgentState,
    ChannelKind,
    Offer,
    Presence,
    PresenceSettings,
    QueueRouting,
    Strategy,
)
from omniline.realtime.events import Audience, RealtimeEvent
from omniline.realtime.service import publish_on_commit
from omniline.workspaces import repository as workspaces
from omniline.workspaces.models import QueueMember

MAX_CAPACITY = 100
LEADS = frozenset({Role.supervisor.value, Role.admin.value})


async def ensure_state(session: AsyncSession, workspace_id: int, user_id: int) -> AgentState:
    """The agent's state row, created offline when missing, locked until commit."""
    if repo.is_postgres(session):
        # Nearly always there: lock it in one statement, insert only when it is missing.
        found = await repo.lock_state(session, workspace_id, user_id)
        if found is not None:
            return found
    await repo.sqlite_write_lock(session)
    values = {
        "user_id": user_id,
        "workspace_id": workspace_id,
        "status": Presence.offline.value,
        "since": utcnow(),
        "idle_since": utcnow(),
    }
    make: Any = pg_insert if repo.is_postgres(session) else sqlite_insert
    made = await session.execute(make(AgentState).values(values).on_conflict_do_nothing())
    if made.rowcount:  # type: ignore[attr-defined]
        agent_loads.note(session, user_id)  # a new row starts from what the user holds
    state = await repo.lock_state(session, workspace_id, user_id)
    assert state is not None
    return state


def check_status(status: str) -> Presence:
    try:
        return Presence(status)
    except ValueError:
        allowed = ", ".join(p.value for p in Presence)
        raise Invalid("status", f"must be one of {allowed}") from None


async def do_set_presence(
    session: AsyncSession,
    workspace_id: int,
    user_id: int,
    status: str,
    *,
    queue_ids: list[int] | None = None,
) -> AgentState:
    """``queue_ids``: the agent's queues when the caller knows them (not read again)."""
    new = check_status(status)
    state = await ensure_state(session, workspace_id, user_id)
    if state.status == new.value:
        return state
    now = utcnow()
    state.status = new.value
    state.since = now
    if new == Presence.online:
        state.idle_since = now  # available from now: the idle clock starts here
    if new == Presence.offline or (
        new == Presence.away and (await repo.settings_of(session, workspace_id)).requeue_on_away
    ):
        await requeue_agent(session, workspace_id, user_id, reason=f"agent_{new.value}")
    await session.flush()
    history.note(session, workspace_id, user_id, now)
    if queue_ids is None:
        queue_ids = await repo.member_queue_ids(session, user_id)
    if new == Presence.online:
        for queue_id in queue_ids:
            await request_assignment(session, workspace_id, queue_id)
    await publish_presence(session, state, queue_ids)
    return state


async def requeue_agent(
    session: AsyncSession, workspace_id: int, user_id: int, *, reason: str
) -> int:
    """Hand the agent's open chats and calls back to their queues (not letters)."""
    convs = await repo.open_of_agent(session, workspace_id, user_id, channels_not=["email"])
    for conv in convs:
        await do_requeue(session, conv, reason=reason)
    for conv in convs:
        withdrawn(session, workspace_id, conv.id, user_id)
    if convs:
        await session.execute(delete(Offer).where(Offer.conversation_id.in_([c.id for c in convs])))
    return len(convs)


async def presence_view(session: AsyncSession, workspace_id: int, user_id: int) -> dict[str, Any]:
    state = await repo.state_of(session, workspace_id, user_id)
    defaults = await repo.settings_of(session, workspace_id)
    load = (await repo.loads(session, [user_id]))[user_id]
    offers = await repo.pending_offers(session, workspace_id, user_id)
    return {
        "user_id": user_id,
        "status": state.status if state else Presence.offline.value,
        "since": iso(state.since) if state else None,
        "capacity": {k.value: repo.capacity(state, defaults, k) for k in ChannelKind},
        "load": {k.value: load[k] for k in ChannelKind},
        "offers": [offer_view(o) for o in offers],
    }


async def publish_presence(session: AsyncSession, state: AgentState, queue_ids: list[int]) -> None:
    """To the agent's other tabs, to supervisors of the agent's queues, and to admins."""
    data = {"user_id": state.user_id, "status": state.status, "since": iso(state.since)}
    ws = state.workspace_id
    audiences = [
        Audience(workspace_id=ws, user_id=state.user_id, queue_id=None),
        Audience(workspace_id=ws, roles=[Role.admin.value, Role.qa.value]),
    ]
    audiences += [
        Audience(workspace_id=ws, queue_id=q, roles=[Role.supervisor.value]) for q in queue_ids
    ]
    publish_on_commit(
        session, *(RealtimeEvent(type="presence.changed", data=data, audience=a) for a in audiences)
    )


async def team_presence(session: AsyncSession, p: Principal) -> list[dict[str, Any]]:
    """Agents with status and load, for supervisors (their queues' members) and admins."""
    if p.role not in LEADS and p.role != Role.qa.value:
        raise Forbidden("only supervisors and administrators see their agents' presence")
    people = list(
        await session.scalars(
            select(User)
            .where(User.workspace_id == p.workspace_id, User.active.is_(True))
            .order_by(User.name)
        )
    )
    if p.queue_ids is not None:
        members = set(
            await session.scalars(
                select(QueueMember.user_id).where(QueueMember.queue_id.in_(sorted(p.queue_ids)))
            )
        )
        people = [u for u in people if u.id in members or u.id == p.user_id]
    people = [u for u in people if u.role in (Role.agent.value, Role.supervisor.value)]
    states = await repo.states_of(session, p.workspace_id)
    defaults = await repo.settings_of(session, p.workspace_id)
    loads = await repo.loads(session, [u.id for u in people])
    out = []
    for u in people:
        st = states.get(u.id)
        out.append(
            {
                "user_id": u.id,
                "name": u.name,
                "role": u.role,
                "status": st.status if st else Presence.offline.value,
                "since": iso(st.since) if st else None,
                "load": {k.value: loads[u.id][k] for k in ChannelKind},
                "capacity": {k.value: repo.capacity(st, defaults, k) for k in ChannelKind},
            }
        )
    return out


# ---- admin settings ----


def _capacity_value(field: str, raw: object, *, optional: bool) -> int | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        if optional:
            return None
        raise Invalid(field, "enter a whole number from 0 to 100")
    try:
        value = int(str(raw).strip())
    except ValueError:
        raise Invalid(field, "enter a whole number from 0 to 100") from None
    if not 0 <= value <= MAX_CAPACITY:
        raise Invalid(field, "must be from 0 to 100")
    return value


async def do_save_defaults(
    session: AsyncSession, p: Principal, values: dict[str, object], requeue_on_away: bool
) -> PresenceSettings:
    access.check_admin(p)
    parsed = {
        k.value: _capacity_value(k.value, values.get(k.value), optional=False) for k in ChannelKind
    }
    row = await session.get(PresenceSettings, p.workspace_id)
    if row is None:
        row = PresenceSettings(workspace_id=p.workspace_id)
        session.add(row)
    for key, value in parsed.items():
        setattr(row, key, value)
    row.requeue_on_away = requeue_on_away
    await session.flush()
    await _nudge_all_queues(session, p.workspace_id)
    return row


async def do_save_agent(
    session: AsyncSession,
    p: Principal,
    user_id: int,
    capacities: dict[str, object],
    levels: dict[int, object],
) -> AgentState:
    """Per-agent capacity overrides (empty: the default) and skill levels (1-10) per queue."""
    access.check_admin(p)
    user = await session.scalar(
        select(User).where(User.id == user_id, User.workspace_id == p.workspace_id)
    )
    if user is None:
        raise NotFound("no such user")
    parsed = {
        k.value: _capacity_value(f"{k.value}_capacity", capacities.get(k.value), optional=True)
        for k in ChannelKind
    }
    member_of = set(await repo.member_queue_ids(session, user_id))
    clean: dict[int, int] = {}
    for queue_id, raw in levels.items():
        if queue_id not in member_of:
            raise Invalid(f"level_{queue_id}", "the agent is not a member of this queue")
        try:
            level = int(str(raw).strip())
        except ValueError:
            raise Invalid(f"level_{queue_id}", "enter a level from 1 to 10") from None
        if not 1 <= level <= 10:
            raise Invalid(f"level_{queue_id}", "must be from 1 to 10")
        clean[queue_id] = level
    state = await ensure_state(session, p.workspace_id, user_id)
    for key, value in parsed.items():
        setattr(state, f"{key}_capacity", value)
    await session.execute(
        delete(AgentSkill).where(
            AgentSkill.user_id == user_id, AgentSkill.workspace_id == p.workspace_id
        )
    )
    if clean:
        await session.execute(
            insert(AgentSkill),
            [
                {"queue_id": q, "user_id": user_id, "workspace_id": p.workspace_id, "level": lv}
                for q, lv in sorted(clean.items())
            ],
        )
    await session.flush()
    for queue_id in sorted(member_of):
        await request_assignment(session, p.workspace_id, queue_id)
    return state


async def do_save_routing(
    session: AsyncSession,
    p: Principal,
    queue_id: int,
    *,
    strategy: str,
    auto_assign: bool,
    requires_acceptance: bool,
    acceptance_seconds: object,
) -> QueueRouting:
    access.check_admin(p)
    if await workspaces.queue(session, p.workspace_id, queue_id) is None:
        raise NotFound("no such queue")
    try:
        chosen = Strategy(strategy)
    except ValueError:
        raise Invalid("strategy", "choose one of the strategies") from None
    try:
        seconds = int(str(acceptance_seconds).strip())
    except ValueError:
        raise Invalid("acceptance_seconds", "enter a number of seconds from 5 to 600") from None
    if not 5 <= seconds <= 600:
        raise Invalid("acceptance_seconds", "must be from 5 to 600 seconds")
    row = await session.get(QueueRouting, queue_id)
    if row is None:
        row = QueueRouting(queue_id=queue_id, workspace_id=p.workspace_id)
        session.add(row)
    row.strategy = chosen.value
    row.auto_assign = auto_assign
    row.requires_acceptance = requires_acceptance
    row.acceptance_seconds = seconds
    await session.flush()
    if auto_assign:
        await request_assignment(session, p.workspace_id, queue_id)
    return row


async def _nudge_all_queues(session: AsyncSession, workspace_id: int) -> None:
    for q in await workspaces.queues(session, workspace_id):
        await request_assignment(session, workspace_id, q.id)
