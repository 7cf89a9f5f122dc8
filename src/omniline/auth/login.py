"""Signing in with a password, throttled and told to the audit log.

Both the API token endpoint and the login page come here. Failed attempts count per account and
per client address (auth/throttle.py); each attempt emits ``auth.login_succeeded`` or
``auth.login_failed`` (kit/hooks.py), a failure in its own committed unit of work so that it is
kept although the request answers an error.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from omniline import db
from omniline.auth import repository
from omniline.auth.models import User
from omniline.auth.passwords import DUMMY_HASH, verify_password
from omniline.auth.throttle import get_throttle
from omniline.errors import TooManyRequests, Unauthorized
from omniline.kit.hooks import DomainEvent, emit

WRONG = "wrong email or password"


@dataclass(frozen=True, slots=True)
class Client:
    """Who is knocking: the client address and browser, for throttling and the audit log."""

    ip: str
    user_agent: str = ""


def _event(
    kind: str, user: User | None, email: str, client: Client, method: str, reason: str = ""
) -> DomainEvent:
    data: dict[str, object] = {
        "user_id": user.id if user else None,
        "email": email.strip().lower()[:320],
        "ip": client.ip,
        "user_agent": client.user_agent[:300],
        "method": method,
    }
    if reason:
        data["reason"] = reason
    return DomainEvent(kind, user.workspace_id if user else 0, data)


async def _record_failure(
    user: User | None, email: str, client: Client, method: str, reason: str
) -> None:
    async with db.unit_of_work() as session:
        await emit(session, _event("auth.login_failed", user, email, client, method, reason))


async def do_sign_in(
    session: AsyncSession, email: str, password: str, client: Client, *, method: str
) -> User:
    throttle = get_throttle()
    checks = throttle.login(email, client.ip)
    user = await repository.user_by_email(session, email)
    try:
        await throttle.check(*checks)
    except TooManyRequests:
        await _record_failure(user, email, client, method, "locked_out")
        raise
    reason = ""
    if user is None:
        verify_password(DUMMY_HASH, password)  # the same time whether the account exists or not
        reason = "unknown_user"
    elif not verify_password(user.password_hash, password):
        reason = "wrong_password"
    elif not user.active:
        reason = "inactive"
    if reason:
        await throttle.fail(*checks)
        await _record_failure(user, email, client, method, reason)
        raise Unauthorized(WRONG)
    assert user is not None
    await throttle.clear(*checks[0])
    await emit(session, _event("auth.login_succeeded", user, email, client, method))
    return user
