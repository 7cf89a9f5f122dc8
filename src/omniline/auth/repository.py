from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.auth.models import AuthToken, User


async def user_by_email(session: AsyncSession, email: str) -> User | None:
    return await session.scalar(select(User).where(User.email == email.strip().lower()))


async def user_by_id(session: AsyncSession, workspace_id: int, user_id: int) -> User | None:
    return await session.scalar(
        select(User).where(User.id == user_id, User.workspace_id == workspace_id)
    )


async def token_with_user(session: AsyncSession, token_hash: str) -> tuple[AuthToken, User] | None:
    row = (
        await session.execute(
            select(AuthToken, User)
            .join(User, User.id == AuthToken.user_id)
            .where(AuthToken.token_hash == token_hash)
        )
    ).first()
    return (row[0], row[1]) if row else None


async def users_of(session: AsyncSession, workspace_id: int) -> list[User]:
    rows = await session.scalars(
        select(User).where(User.workspace_id == workspace_id).order_by(User.name)
    )
    return list(rows)
