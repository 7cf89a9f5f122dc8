"""Two-factor sign-in for staff: time-based one-time codes (RFC 6238, `pyotp`) from an
authenticator app, and single-use recovery codes for a lost phone.

Setting it up: a secret is proposed (QR code and text), and kept only once the user has typed a
code it produces. A code is accepted within one 30-second step either side of now, and never
twice (``User.totp_last_step``). An admin can make it mandatory per role
(``Workspace.two_factor_roles``): a user of such a role who has not set it up gets, at sign-in,
a session that may only set it up (``AuthToken.scope``).
"""

from __future__ import annotations

import hashlib
import secrets
import time

import pyotp
import segno
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.auth.models import RecoveryCode, Role, User
from omniline.auth.passwords import verify_password
from omniline.errors import Conflict, Invalid, Unauthorized
from omniline.kit.clock import utcnow
from omniline.workspaces.models import Workspace

ISSUER = "Omniline"
STEP = 30
RECOVERY_CODES = 10
SETUP_SCOPE = "2fa_setup"


def _hash(code: str) -> str:
    return hashlib.sha256(code.replace("-", "").strip().lower().encode()).hexdigest()


async def required_for(session: AsyncSession, user: User) -> bool:
    roles = await session.scalar(
        select(Workspace.two_factor_roles).where(Workspace.id == user.workspace_id)
    )
    return user.role in (roles or [])


def provisioning(user: User, secret: str) -> tuple[str, str]:
    """The otpauth:// address and its QR code as inline SVG."""
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)
    svg = segno.make(uri, error="m").svg_inline(scale=4, dark="#111", light="#fff")
    return uri, svg


async def do_start_setup(session: AsyncSession, user: User) -> str:
    """A new secret to scan; it takes effect only once confirmed with a code."""
    if user.totp_secret:
        raise Conflict("two-factor sign-in is already on; turn it off first to change the phone")
    if not user.totp_pending_secret:
        user.totp_pending_secret = pyotp.random_base32()
        await session.flush()
    return user.totp_pending_secret


def _matching_step(secret: str, code: str, after_step: int, now: float) -> int | None:
    code = code.replace(" ", "").strip()
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    current = int(now // STEP)
    for step in (current - 1, current, current + 1):
        if step > after_step and secrets.compare_digest(totp.at(step * STEP), code):
            return step
    return None


async def do_confirm_setup(session: AsyncSession, user: User, code: str) -> list[str]:
    """Turns two-factor on; returns the recovery codes, shown to the user once."""
    if not user.totp_pending_secret:
        raise Conflict("start the set-up first")
    step = _matching_step(user.totp_pending_secret, code, 0, time.time())
    if step is None:
        raise Invalid("code", "this code is not right; type the 6 digits the app shows now")
    user.totp_secret = user.totp_pending_secret
    user.totp_pending_secret = None
    user.totp_last_step = step
    codes = await _new_recovery_codes(session, user)
    await session.flush()
    return codes


async def _new_recovery_codes(session: AsyncSession, user: User) -> list[str]:
    await session.execute(
        update(RecoveryCode)
        .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
        .values(used_at=utcnow())
    )
    codes = [f"{secrets.token_hex(4)}-{secrets.token_hex(4)}" for _ in range(RECOVERY_CODES)]
    session.add_all(RecoveryCode(user_id=user.id, code_hash=_hash(c)) for c in codes)
    return codes


async def check_second_factor(session: AsyncSession, user: User, code: str) -> str:
    """A code from the app or an unused recovery code; returns which ("totp" or
    "recovery_code") or raises Unauthorized."""
    assert user.totp_secret
    step = _matching_step(user.totp_secret, code, user.totp_last_step, time.time())
    if step is not None:
        # Compare-and-set: of two requests with the same code, one wins.
        won = await session.execute(
            update(User)
            .where(User.id == user.id, User.totp_last_step < step)
            .values(totp_last_step=step)
            .execution_options(synchronize_session=False)
        )
        if getattr(won, "rowcount", 1) == 1:
            user.totp_last_step = step
            return "totp"
    if len(code.strip()) >= 16:
        row = await session.scalar(
            select(RecoveryCode).where(
                RecoveryCode.user_id == user.id,
                RecoveryCode.code_hash == _hash(code),
                RecoveryCode.used_at.is_(None),
            )
        )
        if row is not None:
            row.used_at = utcnow()
            await session.flush()
            return "recovery_code"
    raise Unauthorized("the two-factor code is not right")


async def do_disable(session: AsyncSession, user: User, password: str, code: str) -> None:
    """Turn it off with the password and a current code (not when the role requires it)."""
    if not user.totp_secret:
        return
    if await required_for(session, user):
        raise Conflict("your role requires two-factor sign-in; it cannot be turned off")
    if not verify_password(user.password_hash, password):
        raise Invalid("password", "wrong password")
    try:
        await check_second_factor(session, user, code)
    except Unauthorized:
        raise Invalid("code", "this code is not right") from None
    await _clear(session, user)


async def do_admin_reset(session: AsyncSession, user: User) -> None:
    """An admin turns a colleague's two-factor off (a lost phone); they set it up again."""
    await _clear(session, user)


async def _clear(session: AsyncSession, user: User) -> None:
    user.totp_secret = None
    user.totp_pending_secret = None
    await session.execute(
        update(RecoveryCode)
        .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
        .values(used_at=utcnow())
    )
    await session.flush()


async def unused_recovery_codes(session: AsyncSession, user: User) -> int:
    rows = await session.scalars(
        select(RecoveryCode.id).where(
            RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)
        )
    )
    return len(list(rows))


async def do_set_required_roles(session: AsyncSession, workspace_id: int, roles: list[str]) -> None:
    known = {r.value for r in Role}
    if not set(roles) <= known:
        raise Invalid("roles", "must be among agent, supervisor, qa, admin")
    await session.execute(
        update(Workspace)
        .where(Workspace.id == workspace_id)
        .values(two_factor_roles=sorted(set(roles)))
    )
