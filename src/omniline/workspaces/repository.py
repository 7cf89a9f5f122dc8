from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.auth.models import User
from omniline.workspaces.models import Queue, QueueMember, Team, TeamMember, Workspace


async def by_slug(session: AsyncSession, slug: str) -> Workspace | None:
    return await session.scalar(select(Workspace).where(Workspace.slug == slug))


async def get(session: AsyncSession, workspace_id: int) -> Workspace | None:
    return await session.get(Workspace, workspace_id)


async def all_workspaces(session: AsyncSession) -> list[Workspace]:
    return list(await session.scalars(select(Workspace).order_by(Workspace.id)))


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


async def team(session: AsyncSession, workspace_id: int, team_id: int) -> Team | None:
    return await session.scalar(
        select(Team).where(Team.id == team_id, Team.workspace_id == workspace_id)
    )


async def teams(session: AsyncSession, workspace_id: int) -> list[Team]:
    return list(
        await session.scalars(
            select(Team).where(Team.workspace_id == workspace_id).order_by(Team.name)
        )
    )


async def queue_members(session: AsyncSession, queue_id: int) -> list[User]:
    return list(
        await session.scalars(
            select(User)
            .join(QueueMember, QueueMember.user_id == User.id)
            .where(QueueMember.queue_id == queue_id)
            .order_by(User.name)
        )
    )


async def team_members(session: AsyncSession, team_id: int) -> list[User]:
    return list(
        await session.scalars(
            select(User)
            .join(TeamMember, TeamMember.user_id == User.id)
            .where(TeamMember.team_id == team_id)
            .order_by(User.name)
        )
    )
