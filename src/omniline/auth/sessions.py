"""Staff sessions: listing them and ending them.

Every browser cookie and every bearer token from ``/api/v1/auth/login`` is a session (an
``AuthToken`` of kind ``session`` or ``access``); long-lived integration tokens (kind ``api``)
are listed on their own page. Ending a session revokes its token in the database at once: the
next HTTP request with it is refused, and :mod:`omniline.auth.session_watch` closes its open
sockets within a second, in every process.

What ends which tokens (see docs/security.md):
- deactivation: all of the user's tokens, integration tokens included; reactivation does not
  bring any back;
- a password change or reset, a role change, "log out everywhere": every session; integration
  tokens stay (they act with the user's current role and are revoked on their own page).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.auth import access
from omniline.auth.models import AuthToken, TokenKind, User
from omniline.auth.principal import Principal
from omniline.errors import NotFound
from omniline.kit.clock import utcnow

INTERACTIVE = (TokenKind.session.value, TokenKind.access.value)
EVERY_KIND = (*INTERACTIVE, TokenKind.api.value, TokenKind.reporting.value)
USER_AGENT_MAX = 300


@dataclass(frozen=True)
class SessionView:
    id: int
    kind: str
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    client_ip: str
    user_agent: str
    current: bool


async def do_end_sessions(
    session: AsyncSession,
    user_id: int,
    *,
    kinds: tuple[str, ...] = INTERACTIVE,
    keep_token_id: int | None = None,
) -> int:
    """Revokes the user's live tokens of ``kinds`` (but ``keep_token_id``); how many."""
    stmt = (
        update(AuthToken)
        .where(
            AuthToken.user_id == user_id,
            AuthToken.kind.in_(kinds),
            AuthToken.revoked_at.is_(None),
        )
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if keep_token_id is not None:
        stmt = stmt.where(AuthToken.id != keep_token_id)
    result = await session.execute(stmt)
    return int(getattr(result, "rowcount", 0) or 0)


async def _user_for(session: AsyncSession, actor: Principal, user_id: int) -> User:
    """One's own sessions, or an admin's view of a colleague's (same workspace only)."""
    if user_id != actor.user_id:
        access.check_admin(actor)
    user = await session.scalar(
        select(User).where(User.id == user_id, User.workspace_id == actor.workspace_id)
    )
    if user is None:
        raise NotFound("no such user in this workspace")
    return user


async def sessions_of(session: AsyncSession, actor: Principal, user_id: int) -> list[SessionView]:
    """The user's live sessions, newest first."""
    user = await _user_for(session, actor, user_id)
    now = utcnow()
    rows = await session.scalars(
        select(AuthToken)
        .where(
            AuthToken.user_id == user.id,
            AuthToken.kind.in_(INTERACTIVE),
            AuthToken.revoked_at.is_(None),
        )
        .order_by(AuthToken.created_at.desc(), AuthToken.id.desc())
    )
    return [
        SessionView(
            id=t.id,
            kind=t.kind,
            created_at=t.created_at,
            last_used_at=t.last_used_at,
            expires_at=t.expires_at,
            client_ip=t.client_ip,
            user_agent=t.user_agent,
            current=t.id == actor.token_id,
        )
        for t in rows
        if t.expires_at is None or t.expires_at > now
    ]


async def do_end_session(
    session: AsyncSession, actor: Principal, user_id: int, token_id: int
) -> None:
    user = await _user_for(session, actor, user_id)
    token = await session.scalar(
        select(AuthToken).where(
            AuthToken.id == token_id,
            AuthToken.user_id == user.id,
            AuthToken.kind.in_(INTERACTIVE),
        )
    )
    if token is None:
        raise NotFound("no such session")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        await session.flush()


async def do_end_all(session: AsyncSession, actor: Principal, user_id: int) -> int:
    """'Log out everywhere': every session of the user, the actor's current one included."""
    user = await _user_for(session, actor, user_id)
    return await do_end_sessions(session, user.id)
