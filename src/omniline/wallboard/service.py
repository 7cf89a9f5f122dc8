"""The wallboard's figures: per queue what waits now, who is on duty, today's service level;
per agent the state, open work and today's occupancy. One snapshot per workspace, read with a
few grouped queries (no query per agent), then cut down to the queues each viewer may see.

Definitions: docs/reports.md ("Wallboard"); service level and abandons count as in
docs/metrics.md ("Voice"), chats with the same formula (wait = queued to first assigned).
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.acd.metrics import Outcome, Tally
from omniline.analytics import occupancy, tally
from omniline.auth import access
from omniline.auth.models import Role, User
from omniline.auth.principal import Principal
from omniline.autoreplies.wait_estimate import handle_minutes
from omniline.channels.voice.models import EndReason, VoiceCall, VoiceQueue
from omniline.conversations.models import Conversation, Status
from omniline.kit.clock import iso, utcnow
from omniline.presence.models import (
    DEFAULT_CAPACITY,
    AgentState,
    ChannelKind,
    Presence,
    PresenceSettings,
)
from omniline.workspaces.models import Queue, QueueMember, Workspace

DEFAULT_SL_TARGET = 0.8
DEFAULT_SL_SECONDS = 20
SHORT_ABANDON_S = 5.0
OPEN_WORK = (Status.assigned.value, Status.waiting_customer.value)
ENDED = (Status.resolved.value, Status.closed.value)
AGENT_STATES = ("available", "busy", "away", "offline", "on_call", "wrap_up")


def _is_call(channel: str) -> bool:
    return channel in ("voice", "phone")


async def _day_start(session: AsyncSession, workspace_id: int, now: datetime) -> datetime:
    """Midnight of today in the workspace's time zone (as aware UTC)."""
    name = await session.scalar(select(Workspace.timezone).where(Workspace.id == workspace_id))
    try:
        zone = ZoneInfo(name or "UTC")
    except (KeyError, ValueError):
        zone = ZoneInfo("UTC")
    local = now.astimezone(zone)
    return datetime.combine(local.date(), time(0), zone).astimezone(now.tzinfo)


async def _waiting(session: AsyncSession, ws: int, now: datetime) -> dict[int, dict[str, Any]]:
    since = func.coalesce(Conversation.first_queued_at, Conversation.created_at)
    rows = await session.execute(
        select(Conversation.queue_id, Conversation.channel, func.count(), func.min(since))
        .where(Conversation.workspace_id == ws, Conversation.status == Status.queued.value)
        .group_by(Conversation.queue_id, Conversation.channel)
    )
    out: dict[int, dict[str, Any]] = defaultdict(lambda: {"chats": 0, "calls": 0, "oldest": None})
    for queue_id, channel, n, oldest in rows:
        if queue_id is None:
            continue
        w = out[int(queue_id)]
        w["calls" if _is_call(channel) else "chats"] += int(n)
        if oldest is not None:
            oldest = oldest if oldest.tzinfo else oldest.replace(tzinfo=now.tzinfo)
            w["oldest"] = oldest if w["oldest"] is None else min(w["oldest"], oldest)
    return out


async def _today(
    session: AsyncSession, ws: int, since: datetime, thresholds: dict[int, float]
) -> dict[int, Tally]:
    """Today's answered and abandoned chats and calls per queue (docs/metrics.md)."""
    tallies: dict[int, Tally] = defaultdict(Tally)
    calls = await session.execute(
        select(
            VoiceCall.queue_id,
            VoiceCall.queued_at,
            VoiceCall.answered_at,
            VoiceCall.ended_at,
            VoiceCall.end_reason,
        ).where(
            VoiceCall.workspace_id == ws,
            VoiceCall.direction == "in",
            VoiceCall.queued_at >= since,
            VoiceCall.queue_id.is_not(None),
        )
    )
    for queue_id, queued, answered, ended, reason in calls:
        if queue_id is None or queued is None:
            continue
        limit = thresholds.get(int(queue_id), DEFAULT_SL_SECONDS)
        if answered is not None:
            tallies[int(queue_id)].add(
                Outcome(queued.date(), True, (answered - queued).total_seconds()),
                SHORT_ABANDON_S,
                limit,
            )
        elif reason == EndReason.abandoned.value and ended is not None:
            tallies[int(queue_id)].add(
                Outcome(queued.date(), False, (ended - queued).total_seconds()),
                SHORT_ABANDON_S,
                limit,
            )
    chats = await session.execute(
        select(
            Conversation.queue_id,
            Conversation.first_queued_at,
            Conversation.first_assigned_at,
            Conversation.resolved_at,
            Conversation.last_activity_at,
            Conversation.status,
        ).where(
            Conversation.workspace_id == ws,
            Conversation.first_queued_at >= since,
            Conversation.queue_id.is_not(None),
            Conversation.channel.not_in(("voice", "phone")),
        )
    )
    for queue_id, queued, assigned, resolved, last, status in chats:
        if queue_id is None or queued is None:
            continue
        limit = thresholds.get(int(queue_id), DEFAULT_SL_SECONDS)
        if assigned is not None:
            wait = (assigned - queued).total_seconds()
            tallies[int(queue_id)].add(Outcome(queued.date(), True, wait), SHORT_ABANDON_S, limit)
        elif status in ENDED:
            # Closed while still waiting for an agent: the customer gave up (or was closed).
            wait = ((resolved or last) - queued).total_seconds()
            tallies[int(queue_id)].add(Outcome(queued.date(), False, wait), SHORT_ABANDON_S, limit)
    return tallies


async def _agents(
    session: AsyncSession, ws: int, now: datetime, day_start: datetime
) -> tuple[list[dict[str, Any]], dict[int, list[int]]]:
    people = (
        await session.execute(
            select(User.id, User.name)
            .where(
                User.workspace_id == ws,
                User.active.is_(True),
                User.role.in_((Role.agent.value, Role.supervisor.value)),
            )
            .order_by(User.name, User.id)
        )
    ).all()
    states = {
        s.user_id: s
        for s in await session.scalars(select(AgentState).where(AgentState.workspace_id == ws))
    }
    defaults = await session.scalar(
        select(PresenceSettings).where(PresenceSettings.workspace_id == ws)
    )
    default_chat = defaults.chat if defaults else DEFAULT_CAPACITY[ChannelKind.chat]
    members: dict[int, list[int]] = defaultdict(list)
    rows = await session.execute(
        select(QueueMember.user_id, QueueMember.queue_id)
        .join(Queue, Queue.id == QueueMember.queue_id)
        .where(Queue.workspace_id == ws)
    )
    for user_id, queue_id in rows:
        members[int(user_id)].append(int(queue_id))
    load: dict[int, dict[str, int]] = defaultdict(lambda: {"chats": 0, "calls": 0})
    loads = await session.execute(
        select(Conversation.assignee_id, Conversation.channel, func.count())
        .where(
            Conversation.workspace_id == ws,
            Conversation.status.in_(OPEN_WORK),
            Conversation.assignee_id.is_not(None),
        )
        .group_by(Conversation.assignee_id, Conversation.channel)
    )
    for assignee, channel, n in loads:
        if assignee is None:
            continue
        load[int(assignee)]["calls" if _is_call(channel) else "chats"] += int(n)
    # Today's occupancy per agent from the state history: one grouped query (docs/metrics.md).
    busy = await occupancy.grouped(
        session, ws, day_start.timestamp(), now.timestamp(), None, "agent", now=now
    )
    out = []
    for user_id, name in people:
        st = states.get(user_id)
        status = st.status if st else Presence.offline.value
        capacity = st.chat_capacity if st and st.chat_capacity is not None else default_chat
        work = load[user_id]
        out.append(
            {
                "user_id": user_id,
                "name": name,
                "state": _state(status, work["chats"], capacity),
                "since": iso(st.since) if st else None,
                "seconds_in_state": (
                    max(0, int((now - _aware(st.since, now)).total_seconds())) if st else None
                ),
                "open_chats": work["chats"],
                "open_calls": work["calls"],
                "occupancy_today": tally.figures(busy.get(user_id, {}))["occupancy"],
                "queue_ids": sorted(members.get(user_id, [])),
            }
        )
    return out, members


def _aware(dt: datetime, now: datetime) -> datetime:
    return dt if dt.tzinfo else dt.replace(tzinfo=now.tzinfo)


def _state(presence: str, chats: int, capacity: int) -> str:
    """Online splits into available (room for a chat) and busy (at chat capacity)."""
    if presence == Presence.online.value:
        return "busy" if capacity <= chats else "available"
    return presence if presence in AGENT_STATES else Presence.offline.value


def estimated_wait_s(waiting: int, staffed: int, handle_s: float) -> int | None:
    """Wait of a customer arriving now: the ones ahead and them shared among the agents on
    duty, each taking one average handle time (autoreplies/wait_estimate.py's formula).
    None with nobody on duty: no honest figure exists."""
    if staffed <= 0:
        return None
    return math.ceil((waiting + 1) * handle_s / staffed)


async def snapshot(session: AsyncSession, workspace_id: int) -> dict[str, Any]:
    """Everything of the workspace; :func:`for_viewer` cuts it to what one person may see."""
    now = utcnow()
    queues = list(
        await session.scalars(
            select(Queue).where(Queue.workspace_id == workspace_id).order_by(Queue.name, Queue.id)
        )
    )
    targets = {
        v.queue_id: v
        for v in await session.scalars(
            select(VoiceQueue).where(VoiceQueue.workspace_id == workspace_id)
        )
    }
    thresholds = {q: float(v.service_level_s) for q, v in targets.items()}
    waiting = await _waiting(session, workspace_id, now)
    day_start = await _day_start(session, workspace_id, now)
    today = await _today(session, workspace_id, day_start, thresholds)
    agents, _ = await _agents(session, workspace_id, now, day_start)
    rows = []
    for q in queues:
        rows.append(await _queue_row(session, q, now, waiting, today, agents, targets.get(q.id)))
    return {"at": iso(now), "queues": rows, "agents": agents}


async def _queue_row(
    session: AsyncSession,
    q: Queue,
    now: datetime,
    waiting: dict[int, dict[str, Any]],
    today: dict[int, Tally],
    agents: list[dict[str, Any]],
    target: VoiceQueue | None,
) -> dict[str, Any]:
    w = waiting.get(q.id, {"chats": 0, "calls": 0, "oldest": None})
    states = dict.fromkeys(AGENT_STATES, 0)
    for a in agents:
        if q.id in a["queue_ids"]:
            states[a["state"]] += 1
    staffed = states["available"] + states["busy"] + states["on_call"] + states["wrap_up"]
    figures = today[q.id].figures() if q.id in today else Tally().figures()
    sl_target = float(target.service_level_target) if target else DEFAULT_SL_TARGET
    sl_seconds = int(target.service_level_s) if target else DEFAULT_SL_SECONDS
    sl = figures.get("service_level")
    handle_s = (
        await handle_minutes(session, q.workspace_id, q.id, now=now) * 60.0
        if w["chats"] + w["calls"] or staffed
        else 0.0
    )
    longest = (now - w["oldest"]).total_seconds() if w["oldest"] is not None else 0.0
    return {
        "queue_id": q.id,
        "name": q.name,
        "waiting": {"chats": w["chats"], "calls": w["calls"]},
        "longest_wait_s": round(max(0.0, longest), 1),
        "agents": states,
        "service_level": sl,
        "service_level_target": sl_target,
        "service_level_seconds": sl_seconds,
        "offered": figures.get("offered", 0),
        "answered": figures.get("answered", 0),
        "abandoned": figures.get("abandoned", 0),
        "estimated_wait_s": estimated_wait_s(w["chats"] + w["calls"], staffed, handle_s),
        "alert": sl is not None and sl < sl_target,
    }


def for_viewer(snap: dict[str, Any], queue_ids: frozenset[int] | None) -> dict[str, Any]:
    """The queues a viewer may see, the agents of those queues, and the alerts among them."""
    if queue_ids is None:
        queues = snap["queues"]
        agents = snap["agents"]
    else:
        queues = [q for q in snap["queues"] if q["queue_id"] in queue_ids]
        agents = [a for a in snap["agents"] if queue_ids.intersection(a["queue_ids"])]
    alerts = [
        {
            "queue_id": q["queue_id"],
            "name": q["name"],
            "kind": "service_level",
            "service_level": q["service_level"],
            "target": q["service_level_target"],
        }
        for q in queues
        if q["alert"]
    ]
    return {"at": snap["at"], "queues": queues, "agents": agents, "alerts": alerts}


async def wallboard_view(session: AsyncSession, p: Principal) -> dict[str, Any]:
    access.check_may_see_wallboard(p)
    return for_viewer(await snapshot(session, p.workspace_id), p.queue_ids)
