"""Workspaces, teams, queues and who belongs to them."""

from __future__ import annotations

import re

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.auth.models import User
from omniline.errors import Conflict, Invalid, NotFound
from omniline.workspaces import repository
from omniline.workspaces.models import Queue, QueueMember, Team, TeamMember, Workspace

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")


async def do_create_workspace(
    session: AsyncSession, *, name: str, slug: str, default_locale: str = "en"
) -> Workspace:
    if not name.strip():
        raise Invalid("name", "must not be empty")
    if not SLUG_RE.match(slug):
        raise Invalid("slug", "use 2-63 lower-case letters, digits and '-'")
    if await repository.by_slug(session, slug) is not None:
        raise Conflict(f"the workspace {slug} already exists")
    ws = Workspace(name=name.strip(), slug=slug, default_locale=default_locale)
    session.add(ws)
    await session.flush()
    return ws


async def do_create_team(session: AsyncSession, workspace_id: int, name: str) -> Team:
    if not name.strip():
        raise Invalid("name", "must not be empty")
    exists = await session.scalar(
        select(Team.id).where(Team.workspace_id == workspace_id, Team.name == name.strip())
    )
    if exists is not None:
        raise Conflict(f"a team named {name.strip()} already exists")
    team = Team(workspace_id=workspace_id, name=name.strip())
    session.add(team)
    await session.flush()
    return team


async def do_create_queue(
    session: AsyncSession,
    workspace_id: int,
    name: str,
    *,
    team_id: int | None = None,
    priority: int = 0,
) -> Queue:
    if not name.strip():
        raise Invalid("name", "must not be empty")
    exists = await session.scalar(
        select(Queue.id).where(Queue.workspace_id == workspace_id, Queue.name == name.strip())
    )
    if exists is not None:
        raise Conflict(f"a queue named {name.strip()} already exists")
    if team_id is not None and await repository.team(session, workspace_id, team_id) is None:
        raise Invalid("team_id", "no such team in this workspace")
    queue = Queue(workspace_id=workspace_id, name=name.strip(), team_id=team_id, priority=priority)
    session.add(queue)
    await session.flush()
    return queue


async def _user_in(session: AsyncSession, workspace_id: int, user_id: int) -> User:
    user = await session.scalar(
        select(User).where(User.id == user_id, User.workspace_id == workspace_id)
    )
    if user is None:
        raise NotFound("no such user in this workspace")
    return user


async def do_set_queue_members(
    session: AsyncSession, workspace_id: int, queue_id: int, user_ids: list[int]
) -> None:
    if await repository.queue(session, workspace_id, queue_id) is None:
        raise NotFound("no such queue")
    for uid in set(user_ids):
        await _user_in(session, workspace_id, uid)
    await session.execute(delete(QueueMember).where(QueueMember.queue_id == queue_id))
    session.add_all(QueueMember(queue_id=queue_id, user_id=uid) for uid in sorted(set(user_ids)))
    await session.flush()


async def do_add_queue_member(
    session: AsyncSession, workspace_id: int, queue_id: int, user_id: int
) -> None:
    if await repository.queue(session, workspace_id, queue_id) is None:
        raise NotFound("no such queue")
    await _user_in(session, workspace_id, user_id)
    found = await session.get(QueueMember, (queue_id, user_id))
    if found is None:
        session.add(QueueMember(queue_id=queue_id, user_id=user_id))
        await session.flush()


async def do_set_team_members(
    session: AsyncSession, workspace_id: int, team_id: int, user_ids: list[int]
) -> None:
    if await repository.team(session, workspace_id, team_id) is None:
        raise NotFound("no such team")
    for uid in set(user_ids):
        await _user_in(session, workspace_id, uid)
    await session.execute(delete(TeamMember).where(TeamMember.team_id == team_id))
    session.add_all(TeamMember(team_id=team_id, user_id=uid) for uid in sorted(set(user_ids)))
    await session.flush()
