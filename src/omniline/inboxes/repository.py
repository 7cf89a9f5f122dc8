from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.inboxes.models import Inbox


async def by_key(session: AsyncSession, key: str) -> Inbox | None:
    return await session.scalar(select(Inbox).where(Inbox.key == key))


async def get(session: AsyncSession, workspace_id: int, inbox_id: int) -> Inbox | None:
    return await session.scalar(
        select(Inbox).where(Inbox.id == inbox_id, Inbox.workspace_id == workspace_id)
    )


async def of_workspace(session: AsyncSession, workspace_id: int) -> list[Inbox]:
    return list(
        await session.scalars(
            select(Inbox).where(Inbox.workspace_id == workspace_id).order_by(Inbox.name)
        )
    )
