"""Admin pages: the signed-in administrator's long-lived API tokens."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.auth import service as auth_service
from omniline.auth.deps import SessionDep
from omniline.auth.principal import Principal
from omniline.errors import DomainError, NotFound
from omniline.kit.ids import Id
from omniline.workspaces.pages_common import (
    AdminPrincipal,
    admin_router,
    field_errors,
    page,
    redirect,
    text,
    when,
)

router = admin_router()


async def _tokens_page(
    request: Request,
    p: Principal,
    session: AsyncSession,
    *,
    new_secret: str | None = None,
    new_name: str = "",
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    rows = [
        {
            "token": t,
            "created": when(t.created_at),
            "last_used": when(t.last_used_at),
            "revoked": when(t.revoked_at),
        }
        for t in await auth_service.api_tokens_of(session, p.user_id)
    ]
    return page(
        request,
        p,
        "admin/tokens.html",
        status=status,
        rows=rows,
        new_secret=new_secret,
        new_name=new_name,
        form=form or {},
        errors=errors or {},
    )


@router.get("/admin/tokens")
async def list_tokens(request: Request, p: AdminPrincipal, session: SessionDep) -> Response:
    return await _tokens_page(request, p, session)


@router.post("/admin/tokens")
async def create_token(request: Request, p: AdminPrincipal, session: SessionDep) -> Response:
    """Answers with the page itself, not a redirect: the secret is shown this once and
    must not travel in a URL (history, logs) or sit in a cookie."""
    form = await request.form()
    try:
        secret, token = await auth_service.do_create_api_token(session, p, text(form, "name"))
    except DomainError as exc:
        await session.rollback()
        return await _tokens_page(
            request,
            p,
            session,
            form={"name": text(form, "name")},
            errors=field_errors(exc, "name"),
            status=exc.status,
        )
    return await _tokens_page(request, p, session, new_secret=secret, new_name=token.name)


@router.post("/admin/tokens/{token_id:int}/revoke")
async def revoke_token(
    request: Request, token_id: Id, p: AdminPrincipal, session: SessionDep
) -> Response:
    try:
        await auth_service.do_revoke_api_token(session, p, token_id)
    except NotFound:
        return redirect("/admin/tokens", error="not_found")
    return redirect("/admin/tokens", ok="token_revoked")
