"""Staff sign-in, tokens, and user management."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.audit import service as audit
from omniline.audit.redact import snapshot
from omniline.auth import access, repository, sessions
from omniline.auth.models import AuthToken, Role, TokenKind, User
from omniline.auth.passwords import DUMMY_HASH, hash_password, verify_password
from omniline.auth.principal import Principal
from omniline.auth.tokens import digest, new_secret
from omniline.errors import Forbidden, Invalid, NotFound, Taken, Unauthorized
from omniline.kit.clock import utcnow
from omniline.kit.hooks import DomainEvent, emit

LOCALES = ("en", "ru", "uk")
NAME_MAX = 200
# How stale an API token's ``last_used_at`` may get: one write per token per interval,
# not one per request.
LAST_USED_EVERY = timedelta(minutes=5)
# Tokens an owner lists and revokes on the API tokens page: integration and reporting ones.
LONG_LIVED = (TokenKind.api.value, TokenKind.reporting.value)


async def authenticate(session: AsyncSession, email: str, password: str) -> User:
    user = await repository.user_by_email(session, email)
    if user is None or not user.active:
        verify_password(DUMMY_HASH, password)
        raise Unauthorized("wrong email or password")
    if not verify_password(user.password_hash, password):
        raise Unauthorized("wrong email or password")
    return user


async def do_issue_token(
    session: AsyncSession,
    user: User,
    kind: TokenKind,
    *,
    hours: int | None,
    name: str = "",
    client_ip: str = "",
    user_agent: str = "",
    scope: str = "",
) -> tuple[str, AuthToken]:
    secret = new_secret()
    token = AuthToken(
        user_id=user.id,
        workspace_id=user.workspace_id,
        kind=kind.value,
        token_hash=digest(secret),
        name=name,
        expires_at=utcnow() + timedelta(hours=hours) if hours else None,
        client_ip=client_ip[:64],
        user_agent=user_agent[: sessions.USER_AGENT_MAX],
        scope=scope,
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
    if token.last_used_at is None or token.last_used_at <= now - LAST_USED_EVERY:
        token.last_used_at = now  # committed with the request's unit of work
    principal = await principal_for(session, user, token_id=token.id)
    if token.scope:
        principal = dataclasses.replace(principal, setup_only=True)
    return principal


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
    if len(name.strip()) > NAME_MAX:
        raise Invalid("name", f"must be at most {NAME_MAX} characters long")
    if password is not None and len(password) < 8:
        raise Invalid("password", "must be at least 8 characters long")
    if role not in {r.value for r in Role}:
        raise Invalid("role", "must be one of agent, supervisor, qa, admin")
    if locale not in LOCALES:
        raise Invalid("locale", "must be one of en, ru, uk")


USER_FIELDS = ("email", "name", "role", "locale", "active", "password_hash")
TOKEN_FIELDS = ("name", "user_id", "expires_at", "revoked_at")


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
        raise Taken("email", f"a user with the email {email} already exists")
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
    await audit.record_change(
        session, "user.created", user, USER_FIELDS, None, target_type="user", label=user.email
    )
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
    keep_token_id: int | None = None,
) -> User:
    """Every path that changes a user comes here (pages, API, CLI), so access taken away ends
    their sessions at once (auth/sessions.py); ``keep_token_id`` spares the actor's own."""
    # ``None`` keeps a field; an empty string is checked (and refused), never stored.
    _check_user_fields(
        user.email,
        user.name if name is None else name,
        password,
        user.role if role is None else role,
        user.locale if locale is None else locale,
    )
    deactivated = active is False and user.active
    ends_sessions = password is not None or (role is not None and role != user.role)
    before = snapshot(user, USER_FIELDS)
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
    if deactivated:
        await sessions.do_end_sessions(session, user.id, kinds=sessions.EVERY_KIND)
        # Presence takes the account offline (its chats and calls back to their queues).
        await emit(
            session, DomainEvent("user.deactivated", user.workspace_id, {"user_id": user.id})
        )
    elif ends_sessions:
        await sessions.do_end_sessions(session, user.id, keep_token_id=keep_token_id)
    await audit.record_change(
        session, "user.updated", user, USER_FIELDS, before, target_type="user", label=user.email
    )
    return user


async def _colleague(session: AsyncSession, actor: Principal, user_id: int) -> User:
    access.check_admin(actor)
    user = await repository.user_by_id(session, actor.workspace_id, user_id)
    if user is None:
        raise NotFound("no such user in this workspace")
    return user


async def do_admin_update_user(
    session: AsyncSession,
    actor: Principal,
    user_id: int,
    *,
    name: str,
    role: str,
    locale: str,
    active: bool,
) -> User:
    """An administrator edits a colleague of their workspace.

    Nobody may disable themselves or drop their own admin role: that would
    lock the last administrator out with no way back but the CLI.
    """
    user = await _colleague(session, actor, user_id)
    if user.id == actor.user_id:
        if role != Role.admin.value:
            raise Invalid("role", "you cannot take the administrator role from yourself")
        if not active:
            raise Invalid("active", "you cannot disable your own account")
    return await do_update_user(session, user, name=name, role=role, locale=locale, active=active)


async def do_reset_password(
    session: AsyncSession, actor: Principal, user_id: int, password: str
) -> User:
    """Set a colleague's password and sign them out everywhere (browser and app sessions).

    Their long-lived API tokens stay valid, and so does the actor's own current session.
    """
    user = await _colleague(session, actor, user_id)
    keep = actor.token_id if actor.user_id == user.id else None
    await do_update_user(session, user, password=password, keep_token_id=keep)
    return user


async def api_tokens_of(session: AsyncSession, user_id: int) -> list[AuthToken]:
    """A user's long-lived API tokens, newest first, revoked ones included."""
    rows = await session.scalars(
        select(AuthToken)
        .where(AuthToken.user_id == user_id, AuthToken.kind.in_(LONG_LIVED))
        .order_by(AuthToken.created_at.desc(), AuthToken.id.desc())
    )
    return list(rows)


async def do_create_api_token(
    session: AsyncSession, actor: Principal, name: str
) -> tuple[str, AuthToken]:
    """A long-lived API token for the actor; the secret is returned once and never stored."""
    name = name.strip()
    if not name:
        raise Invalid("name", "must not be empty")
    if len(name) > NAME_MAX:
        raise Invalid("name", f"must be at most {NAME_MAX} characters long")
    user = await repository.user_by_id(session, actor.workspace_id, actor.user_id)
    if user is None:
        raise NotFound("no such user in this workspace")
    secret, token = await do_issue_token(session, user, TokenKind.api, hours=None, name=name)
    await audit.record_change(
        session, "api_token.created", token, TOKEN_FIELDS, None, target_type="api_token", label=name
    )
    return secret, token


def check_may_own_reporting_token(user: User) -> None:
    """A reporting token reads the whole workspace's BI data: an administrator's only."""
    if user.role != Role.admin.value:
        raise Forbidden("reporting tokens belong to administrators; this user is not one")


async def do_revoke_api_token(session: AsyncSession, actor: Principal, token_id: int) -> AuthToken:
    """Revoke one of the actor's own API tokens (a no-op when already revoked)."""
    token = await session.scalar(
        select(AuthToken).where(
            AuthToken.id == token_id,
            AuthToken.user_id == actor.user_id,
            AuthToken.kind.in_(LONG_LIVED),
        )
    )
    if token is None:
        raise NotFound("no such API token")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        await session.flush()
        await audit.record(
            session,
            "api_token.revoked",
            workspace_id=token.workspace_id,
            target_type="api_token",
            target_id=token.id,
            target_label=token.name,
        )
    return token
