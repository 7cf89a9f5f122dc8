"""Two-factor sign-in pages: setting it up for oneself, and the admin's rules."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.auth import totp
from omniline.auth.deps import PagePrincipal, SessionDep
from omniline.auth.models import AuthToken, Role, User
from omniline.auth.principal import Principal
from omniline.errors import DomainError, NotFound
from omniline.kit.ids import Id
from omniline.workspaces.pages_common import (
    AdminPrincipal,
    admin_router,
    page,
    redirect,
    text,
)

router = admin_router()


async def _me(session: AsyncSession, p: Principal) -> User:
    user = await session.get(User, p.user_id)
    if user is None:
        raise NotFound("no such user")
    return user


async def _setup_page(
    request: Request,
    p: Principal,
    session: AsyncSession,
    *,
    errors: dict[str, str] | None = None,
    recovery_codes: list[str] | None = None,
    status: int = 200,
) -> Response:
    user = await _me(session, p)
    ctx: dict[str, object] = {
        "enabled": bool(user.totp_secret),
        "required": await totp.required_for(session, user),
        "errors": errors or {},
        "recovery_codes": recovery_codes or [],
    }
    if user.totp_secret:
        ctx["unused_codes"] = await totp.unused_recovery_codes(session, user)
    elif not recovery_codes:
        secret = await totp.do_start_setup(session, user)
        _uri, svg = totp.provisioning(user, secret)
        ctx.update(secret=secret, qr_svg=svg)
    return page(request, p, "two_factor.html", status=status, **ctx)


@router.get("/me/two-factor")
async def two_factor(request: Request, p: PagePrincipal, session: SessionDep) -> Response:
    return await _setup_page(request, p, session)


@router.post("/me/two-factor/confirm")
async def confirm(request: Request, p: PagePrincipal, session: SessionDep) -> Response:
    form = await request.form()
    user = await _me(session, p)
    try:
        codes = await totp.do_confirm_setup(session, user, text(form, "code"))
    except DomainError as exc:
        return await _setup_page(request, p, session, errors={"code": exc.message}, status=422)
    if p.token_id is not None:  # this session may now do everything its role allows
        await session.execute(update(AuthToken).where(AuthToken.id == p.token_id).values(scope=""))
    return await _setup_page(request, p, session, recovery_codes=codes)


@router.post("/me/two-factor/disable")
async def disable(request: Request, p: PagePrincipal, session: SessionDep) -> Response:
    form = await request.form()
    user = await _me(session, p)
    try:
        await totp.do_disable(session, user, text(form, "password"), text(form, "code"))
    except DomainError as exc:
        await session.rollback()
        return await _setup_page(request, p, session, errors={"code": exc.message}, status=422)
    return await _setup_page(request, p, session)


@router.post("/admin/two-factor")
async def required_roles(request: Request, p: AdminPrincipal, session: SessionDep) -> Response:
    form = await request.form()
    roles = [str(r) for r in form.getlist("roles") if str(r) in {x.value for x in Role}]
    await totp.do_set_required_roles(session, p.workspace_id, roles)
    return redirect("/admin/users", ok="two_factor_saved")


@router.post("/admin/users/{user_id:int}/two-factor/reset")
async def reset(request: Request, user_id: Id, p: AdminPrincipal, session: SessionDep) -> Response:
    user = await session.get(User, user_id)
    if user is None or user.workspace_id != p.workspace_id:
        raise NotFound("no such user")
    await totp.do_admin_reset(session, user)
    return redirect(f"/admin/users/{user_id}", ok="two_factor_reset")
