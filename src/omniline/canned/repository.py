"""Queries for canned responses. Every query is filtered by workspace."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.canned.models import SHARED_SCOPE, CannedResponse, personal_scope


async def usable_by(session: AsyncSession, workspace_id: int, user_id: int) -> list[CannedResponse]:
    """The user's personal responses and the workspace's shared ones."""
    return list(
        await session.scalars(
            select(CannedResponse)
            .where(
                CannedResponse.workspace_id == workspace_id,
                or_(
                    CannedResponse.scope == SHARED_SCOPE,
                    CannedResponse.scope == personal_scope(user_id),
                ),
            )
            .order_by(CannedResponse.shortcut, CannedResponse.id)
        )
    )


async def of_scope(session: AsyncSession, workspace_id: int, scope: str) -> list[CannedResponse]:
    return list(
        await session.scalars(
            select(CannedResponse)
            .where(CannedResponse.workspace_id == workspace_id, CannedResponse.scope == scope)
            .order_by(CannedResponse.shortcut)
        )
    )


async def get(session: AsyncSession, workspace_id: int, canned_id: int) -> CannedResponse | None:
    return await session.scalar(
        select(CannedResponse).where(
            CannedResponse.id == canned_id, CannedResponse.workspace_id == workspace_id
        )
    )


async def by_shortcut(
    session: AsyncSession, workspace_id: int, scope: str, shortcut: str
) -> CannedResponse | None:
    return await session.scalar(
        select(CannedResponse).where(
            CannedResponse.workspace_id == workspace_id,
            CannedResponse.scope == scope,
            CannedResponse.shortcut == shortcut,
        )
    )
