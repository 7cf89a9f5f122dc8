"""A customer's place in the queue and a rough wait from the queue, agents on duty, handle times.

wait = ceil(position * average handle time / agents on duty): the conversations ahead
and this one are shared among the agents, each taking about one handle time.
"""

from __future__ import annotations

import importlib
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.auth.models import User
from omniline.conversations.models import Conversation, Status
from omniline.kit.clock import utcnow
from omniline.workspaces.models import QueueMember

HANDLE_WINDOW_HOURS = 24
DEFAULT_HANDLE_MINUTES = 5.0
HANDLE_SAMPLE = 500


@dataclass(frozen=True, slots=True)
class Estimate:
    position: int
    agents: int
    agents_source: str  # "presence" (online agents) or "members" (active queue members)
    handle_minutes: float
    wait_minutes: int


async def position(session: AsyncSession, conv: Conversation) -> int:
    """1 for the next conversation to be taken: higher priority first, then the longest waiting."""
    if conv.queue_id is None:
        return 1
    since = func.coalesce(Conversation.first_queued_at, Conversation.created_at)
    mine = conv.first_queued_at or conv.created_at
    ahead = or_(
        Conversation.priority > conv.priority,
        and_(
            Conversation.priority == conv.priority,
            or_(since < mine, and_(since == mine, Conversation.id < conv.id)),
        ),
    )
    stmt = select(func.count()).where(
        Conversation.workspace_id == conv.workspace_id,
        Conversation.queue_id == conv.queue_id,
        Conversation.status == Status.queued.value,
        Conversation.assignee_id.is_(None),
        Conversation.id != conv.id,
        ahead,
    )
    return int(await session.scalar(stmt) or 0) + 1


async def _online_from_presence(
    session: AsyncSession, workspace_id: int, queue_id: int
) -> int | None:
    """Queue members whose presence is online, when the presence domain is installed.

    A counting function of its service is preferred; otherwise its AgentState table
    is read. None without the presence domain.
    """
    try:
        service = importlib.import_module("omniline.presence.service")
        models = importlib.import_module("omniline.presence.models")
    except ImportError:
        return None
    count = getattr(service, "count_online_agents", None)
    if count is not None:
        return int(await count(session, workspace_id, queue_id))
    state = models.AgentState
    stmt = (
        select(func.count())
        .select_from(QueueMember)
        .join(User, User.id == QueueMember.user_id)
        .join(state, state.user_id == QueueMember.user_id)
        .where(
            QueueMember.queue_id == queue_id,
            User.active.is_(True),
            state.workspace_id == workspace_id,
            state.status == models.Presence.online.value,
        )
    )
    return int(await session.scalar(stmt) or 0)


async def _members(session: AsyncSession, queue_id: int) -> int:
    stmt = (
        select(func.count())
        .select_from(QueueMember)
        .join(User, User.id == QueueMember.user_id)
        .where(QueueMember.queue_id == queue_id, User.active.is_(True))
    )
    return int(await session.scalar(stmt) or 0)


async def agents_on_duty(
    session: AsyncSession, workspace_id: int, queue_id: int
) -> tuple[int, str]:
    online = await _online_from_presence(session, workspace_id, queue_id)
    if online is not None:
        return online, "presence"
    return await _members(session, queue_id), "members"


async def handle_minutes(
    session: AsyncSession, workspace_id: int, queue_id: int, *, now: datetime | None = None
) -> float:
    """Average of resolved - first assigned over the queue's recent resolved conversations."""
    since = (now or utcnow()) - timedelta(hours=HANDLE_WINDOW_HOURS)
    stmt = (
        select(Conversation.first_assigned_at, Conversation.resolved_at)
        .where(
            Conversation.workspace_id == workspace_id,
            Conversation.queue_id == queue_id,
            Conversation.resolved_at >= since,
            Conversation.first_assigned_at.is_not(None),
        )
        .order_by(Conversation.resolved_at.desc())
        .limit(HANDLE_SAMPLE)
    )
    spans = [
        (resolved - assigned).total_seconds()
        for assigned, resolved in (await session.execute(stmt)).all()
        if assigned is not None and resolved is not None and resolved >= assigned
    ]
    if not spans:
        return DEFAULT_HANDLE_MINUTES
    return sum(spans) / len(spans) / 60.0


def wait_of(pos: int, agents: int, handle: float) -> int:
    # With nobody on duty we still promise something finite: one agent's pace.
    return max(1, math.ceil(pos * handle / max(agents, 1)))


async def estimate(session: AsyncSession, conv: Conversation) -> Estimate:
    pos = await position(session, conv)
    if conv.queue_id is None:
        return Estimate(
            pos, 0, "members", DEFAULT_HANDLE_MINUTES, wait_of(pos, 0, DEFAULT_HANDLE_MINUTES)
        )
    agents, source = await agents_on_duty(session, conv.workspace_id, conv.queue_id)
    handle = await handle_minutes(session, conv.workspace_id, conv.queue_id)
    return Estimate(pos, agents, source, handle, wait_of(pos, agents, handle))
