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
from omniline.auth import repository, totp
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


async def do_check_password(
    session: AsyncSession, email: str, password: str, client: Client, *, method: str
) -> User:
    """The first step: throttled, failures recorded. The caller records the success
    (:func:`do_record_success`) once every step passed."""
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
    return user


async def do_check_second_factor(
    session: AsyncSession, user: User, code: str, client: Client
) -> str:
    """The second step, throttled like the first; returns "totp" or "recovery_code"."""
    throttle = get_throttle()
    checks = throttle.login(user.email, client.ip)
    try:
        await throttle.check(*checks)
    except TooManyRequests:
        await _record_failure(user, user.email, client, "totp", "locked_out")
        raise
    try:
        return await totp.check_second_factor(session, user, code)
    except Unauthorized:
        await throttle.fail(*checks)
        await _record_failure(user, user.email, client, "totp", "wrong_otp")
        raise


async def do_record_success(
    session: AsyncSession, user: User, client: Client, *, method: str
) -> None:
    throttle = get_throttle()
    await throttle.clear(*throttle.login(user.email, client.ip)[0])
    await emit(session, _event("auth.login_succeeded", user, user.email, client, method))


async def do_sign_in(
    session: AsyncSession, email: str, password: str, client: Client, *, method: str
) -> User:
    """Password only (no second factor asked): the first step and the success together."""
    user = await do_check_password(session, email, password, client, method=method)
    await do_record_success(session, user, client, method=method)
    return user
