"""Workspaces, teams, queues and who belongs to them."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.audit import service as audit
from omniline.auth.models import AuthToken, TokenKind, User
from omniline.errors import Invalid, NoSuch, NotFound, Taken
from omniline.inboxes.models import Inbox
from omniline.jobs import service as jobs
from omniline.jobs.models import Job, JobState
from omniline.kit.clock import utcnow
from omniline.workspaces import repository
from omniline.workspaces.models import Queue, QueueMember, Team, TeamMember, Workspace

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
NAME_MAX = 200
PRIORITY_MIN, PRIORITY_MAX = 0, 100


def _check_name(name: str) -> None:
    if not name.strip():
        raise Invalid("name", "must not be empty")
    if len(name.strip()) > NAME_MAX:
        raise Invalid("name", f"must be at most {NAME_MAX} characters long")


async def do_create_workspace(
    session: AsyncSession, *, name: str, slug: str, default_locale: str = "en"
) -> Workspace:
    if not name.strip():
        raise Invalid("name", "must not be empty")
    if not SLUG_RE.match(slug):
        raise Invalid("slug", "use 2-63 lower-case letters, digits and '-'")
    if await repository.by_slug(session, slug) is not None:
        raise Taken("slug", f"the workspace {slug} already exists")
    ws = Workspace(name=name.strip(), slug=slug, default_locale=default_locale)
    session.add(ws)
    await session.flush()
    return ws


async def do_create_team(session: AsyncSession, workspace_id: int, name: str) -> Team:
    _check_name(name)
    exists = await session.scalar(
        select(Team.id).where(Team.workspace_id == workspace_id, Team.name == name.strip())
    )
    if exists is not None:
        raise Taken("name", f"a team named {name.strip()} already exists")
    team = Team(workspace_id=workspace_id, name=name.strip())
    session.add(team)
    await session.flush()
    await audit.record_change(session, "team.created", team, TEAM_FIELDS, None, target_type="team")
    return team


async def do_create_queue(
    session: AsyncSession,
    workspace_id: int,
    name: str,
    *,
    team_id: int | None = None,
    priority: int = 0,
) -> Queue:
    _check_name(name)
    if not PRIORITY_MIN <= priority <= PRIORITY_MAX:
        raise Invalid("priority", f"must be between {PRIORITY_MIN} and {PRIORITY_MAX}")
    exists = await session.scalar(
        select(Queue.id).where(Queue.workspace_id == workspace_id, Queue.name == name.strip())
    )
    if exists is not None:
        raise Taken("name", f"a queue named {name.strip()} already exists")
    if team_id is not None and await repository.team(session, workspace_id, team_id) is None:
        raise NoSuch("team_id", "no such team in this workspace")
    queue = Queue(workspace_id=workspace_id, name=name.strip(), team_id=team_id, priority=priority)
    session.add(queue)
    if team_id is not None:  # the team's supervisors see the new queue
        await touch_access(session, workspace_id)
    await session.flush()
    await audit.record_change(
        session, "queue.created", queue, QUEUE_FIELDS, None, target_type="queue"
    )
    return queue


async def touch_access(session: AsyncSession, workspace_id: int) -> None:
    """Memberships changed: open staff sockets of the workspace reload which queues they see
    (auth/session_watch.py), within a second."""
    await session.execute(
        update(Workspace).where(Workspace.id == workspace_id).values(access_changed_at=utcnow())
    )


TEAM_FIELDS = ("name",)
QUEUE_FIELDS = ("name", "team_id", "priority")
WORKSPACE_FIELDS = ("name", "default_locale", "timezone", "retention_days")


async def _record_members(
    session: AsyncSession,
    workspace_id: int,
    kind: str,
    target_id: int,
    before: list[int],
    after: list[int],
) -> None:
    await audit.record(
        session,
        f"{kind}.members_changed",
        workspace_id=workspace_id,
        target_type=kind,
        target_id=target_id,
        before={"user_ids": before},
        after={"user_ids": sorted(set(after))},
    )


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
    before = sorted(u.id for u in await repository.queue_members(session, queue_id))
    await session.execute(delete(QueueMember).where(QueueMember.queue_id == queue_id))
    session.add_all(QueueMember(queue_id=queue_id, user_id=uid) for uid in sorted(set(user_ids)))
    await touch_access(session, workspace_id)
    await session.flush()
    await _record_members(session, workspace_id, "queue", queue_id, before, user_ids)


async def do_add_queue_member(
    session: AsyncSession, workspace_id: int, queue_id: int, user_id: int
) -> None:
    if await repository.queue(session, workspace_id, queue_id) is None:
        raise NotFound("no such queue")
    await _user_in(session, workspace_id, user_id)
    found = await session.get(QueueMember, (queue_id, user_id))
    if found is None:
        session.add(QueueMember(queue_id=queue_id, user_id=user_id))
        await touch_access(session, workspace_id)
        await session.flush()
        await audit.record(
            session,
            "queue.member_added",
            workspace_id=workspace_id,
            target_type="queue",
            target_id=queue_id,
            data={"user_id": user_id},
        )


async def do_set_team_members(
    session: AsyncSession, workspace_id: int, team_id: int, user_ids: list[int]
) -> None:
    if await repository.team(session, workspace_id, team_id) is None:
        raise NotFound("no such team")
    for uid in set(user_ids):
        await _user_in(session, workspace_id, uid)
    before = sorted(u.id for u in await repository.team_members(session, team_id))
    await session.execute(delete(TeamMember).where(TeamMember.team_id == team_id))
    session.add_all(TeamMember(team_id=team_id, user_id=uid) for uid in sorted(set(user_ids)))
    await touch_access(session, workspace_id)
    await session.flush()
    await _record_members(session, workspace_id, "team", team_id, before, user_ids)


@dataclass(frozen=True, slots=True)
class Memberships:
    """Who belongs where in one workspace, both ways round (ids only)."""

    teams_of_user: dict[int, list[int]] = field(default_factory=dict)
    queues_of_user: dict[int, list[int]] = field(default_factory=dict)
    users_of_team: dict[int, list[int]] = field(default_factory=dict)
    users_of_queue: dict[int, list[int]] = field(default_factory=dict)


async def memberships(session: AsyncSession, workspace_id: int) -> Memberships:
    """Every team and queue membership of a workspace, in two queries."""
    result = Memberships()
    team_rows = await session.execute(
        select(TeamMember.team_id, TeamMember.user_id)
        .join(Team, Team.id == TeamMember.team_id)
        .where(Team.workspace_id == workspace_id)
    )
    for team_id, user_id in team_rows:
        result.teams_of_user.setdefault(user_id, []).append(team_id)
        result.users_of_team.setdefault(team_id, []).append(user_id)
    queue_rows = await session.execute(
        select(QueueMember.queue_id, QueueMember.user_id)
        .join(Queue, Queue.id == QueueMember.queue_id)
        .where(Queue.workspace_id == workspace_id)
    )
    for queue_id, user_id in queue_rows:
        result.queues_of_user.setdefault(user_id, []).append(queue_id)
        result.users_of_queue.setdefault(queue_id, []).append(user_id)
    return result


async def do_set_user_memberships(
    session: AsyncSession,
    workspace_id: int,
    user_id: int,
    *,
    team_ids: list[int],
    queue_ids: list[int],
) -> None:
    """Replace one user's teams and queues (the user-centred twin of ``do_set_*_members``)."""
    await _user_in(session, workspace_id, user_id)
    teams = set(team_ids)
    queues = set(queue_ids)
    known_teams = {t.id for t in await repository.teams(session, workspace_id)}
    if not teams <= known_teams:
        raise NoSuch("team_ids", "no such team in this workspace")
    known_queues = {q.id for q in await repository.queues(session, workspace_id)}
    if not queues <= known_queues:
        raise NoSuch("queue_ids", "no such queue in this workspace")
    ms = await memberships(session, workspace_id)
    before = {
        "team_ids": sorted(ms.teams_of_user.get(user_id, [])),
        "queue_ids": sorted(ms.queues_of_user.get(user_id, [])),
    }
    # A user belongs to one workspace, so all their memberships are this workspace's.
    await session.execute(delete(TeamMember).where(TeamMember.user_id == user_id))
    await session.execute(delete(QueueMember).where(QueueMember.user_id == user_id))
    session.add_all(TeamMember(team_id=tid, user_id=user_id) for tid in sorted(teams))
    session.add_all(QueueMember(queue_id=qid, user_id=user_id) for qid in sorted(queues))
    await touch_access(session, workspace_id)
    await session.flush()
    await audit.record(
        session,
        "user.memberships_changed",
        workspace_id=workspace_id,
        target_type="user",
        target_id=user_id,
        before=before,
        after={"team_ids": sorted(teams), "queue_ids": sorted(queues)},
    )


async def _count(session: AsyncSession, model: Any, *where: ColumnElement[bool]) -> int:
    return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def overview_counts(session: AsyncSession, workspace_id: int, user_id: int) -> dict[str, int]:
    """The numbers on the admin overview, one small query each; API tokens are ``user_id``'s."""
    ws = workspace_id
    return {
        "users": await _count(session, User, User.workspace_id == ws),
        "active_users": await _count(session, User, User.workspace_id == ws, User.active.is_(True)),
        "teams": await _count(session, Team, Team.workspace_id == ws),
        "queues": await _count(session, Queue, Queue.workspace_id == ws),
        "inboxes": await _count(session, Inbox, Inbox.workspace_id == ws),
        "enabled_inboxes": await _count(
            session, Inbox, Inbox.workspace_id == ws, Inbox.enabled.is_(True)
        ),
        "api_tokens": await _count(
            session,
            AuthToken,
            AuthToken.workspace_id == ws,
            AuthToken.user_id == user_id,
            AuthToken.kind == TokenKind.api.value,
            AuthToken.revoked_at.is_(None),
        ),
        "failed_jobs": await _count(
            session, Job, Job.workspace_id == ws, Job.state == JobState.failed.value
        ),
    }


async def failed_jobs_of(session: AsyncSession, workspace_id: int, limit: int = 100) -> list[Job]:
    """Failed jobs of one workspace, newest first (``jobs.service.failed_jobs`` sees them all)."""
    return list(
        await session.scalars(
            select(Job)
            .where(Job.workspace_id == workspace_id, Job.state == JobState.failed.value)
            .order_by(Job.id.desc())
            .limit(limit)
        )
    )


async def do_retry_job(session: AsyncSession, workspace_id: int, job_id: int) -> Job:
    """Put one of this workspace's failed jobs back in line (attempts start again)."""
    owner = await session.scalar(select(Job.workspace_id).where(Job.id == job_id))
    if owner != workspace_id:
        raise NotFound("no such job")
    job = await jobs.do_retry(session, job_id)
    await session.flush()
    return job
