"""Staff sign-in, tokens, and user management."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.auth import access, repository
from omniline.auth.models import AuthToken, Role, TokenKind, User
from omniline.auth.passwords import DUMMY_HASH, hash_password, verify_password
from omniline.auth.principal import Principal
from omniline.auth.tokens import digest, new_secret
from omniline.errors import Conflict, Invalid, Unauthorized
from omniline.kit.clock import utcnow

LOCALES = ("en", "ru", "uk")


async def authenticate(session: AsyncSession, email: str, password: str) -> User:
    user = await repository.user_by_email(session, email)
    if user is None or not user.active:
        verify_password(DUMMY_HASH, password)
        raise Unauthorized("wrong email or password")
    if not verify_password(user.password_hash, password):
        raise Unauthorized("wrong email or password")
    return user


async def do_issue_token(
    session: AsyncSession, user: User, kind: TokenKind, *, hours: int | None, name: str = ""
) -> tuple[str, AuthToken]:
    secret = new_secret()
    token = AuthToken(
        user_id=user.id,
        workspace_id=user.workspace_id,
        kind=kind.value,
        token_hash=digest(secret),
        name=name,
        expires_at=utcnow() + timedelta(hours=hours) if hours else None,
    )
    session.add(token)
    await session.flush()
    return secret, token


async def do_revoke_token(session: AsyncSession, secret: str) -> None:
    found = await repository.token_with_user(session, digest(secret))
    if found is not None:
        found[0].revoked_at = utcnow()


async def principal_from_token(
    session: AsyncSession, secret: str, kinds: tuple[TokenKind, ...]
) -> Principal:
    found = await repository.token_with_user(session, digest(secret))
    if found is None:
        raise Unauthorized("the token is not valid")
    token, user = found
    now = utcnow()
    if (
        token.kind not in {k.value for k in kinds}
        or token.revoked_at is not None
        or (token.expires_at is not None and token.expires_at <= now)
        or not user.active
    ):
        raise Unauthorized("the token is expired or revoked")
    return await principal_for(session, user, token_id=token.id)


async def principal_for(
    session: AsyncSession, user: User, token_id: int | None = None
) -> Principal:
    return Principal(
        user_id=user.id,
        workspace_id=user.workspace_id,
        role=user.role,
        name=user.name,
        email=user.email,
        locale=user.locale,
        queue_ids=await access.visible_queue_ids(session, user),
        token_id=token_id,
    )


def _check_user_fields(email: str, name: str, password: str | None, role: str, locale: str) -> None:
    if "@" not in email or len(email) > 320:
        raise Invalid("email", "must be an email address")
    if not name.strip():
        raise Invalid("name", "must not be empty")
    if password is not None and len(password) < 8:
        raise Invalid("password", "must be at least 8 characters long")
    if role not in {r.value for r in Role}:
        raise Invalid("role", "must be one of agent, supervisor, qa, admin")
    if locale not in LOCALES:
        raise Invalid("locale", "must be one of en, ru, uk")


async def do_create_user(
    session: AsyncSession,
    *,
    workspace_id: int,
    email: str,
    name: str,
    password: str,
    role: str = Role.agent.value,
    locale: str = "en",
) -> User:
    email = email.strip().lower()
    _check_user_fields(email, name, password, role, locale)
    if await session.scalar(select(User.id).where(User.email == email)) is not None:
        raise Conflict(f"a user with the email {email} already exists")
    user = User(
        workspace_id=workspace_id,
        email=email,
        name=name.strip(),
        password_hash=hash_password(password),
        role=role,
        locale=locale,
    )
    session.add(user)
    await session.flush()
    return user


async def do_update_user(
    session: AsyncSession,
    user: User,
    *,
    name: str | None = None,
    role: str | None = None,
    locale: str | None = None,
    password: str | None = None,
    active: bool | None = None,
) -> User:
    _check_user_fields(
        user.email, name or user.name, password, role or user.role, locale or user.locale
    )
    if name is not None:
        user.name = name.strip()
    if role is not None:
        user.role = role
    if locale is not None:
        user.locale = locale
    if password is not None:
        user.password_hash = hash_password(password)
    if active is not None:
        user.active = active
    await session.flush()
    return user
