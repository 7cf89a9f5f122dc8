"""Pages for canned responses: shared ones in the admin pages, personal ones at /canned.

Supervisors manage the shared ones from /canned too (they have no admin pages).
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData

from omniline.auth.deps import PagePrincipal, SessionDep
from omniline.auth.principal import Principal
from omniline.canned import repository, service
from omniline.canned.models import SHARED_SCOPE, CannedResponse, personal_scope
from omniline.errors import DomainError, Forbidden
from omniline.kit.ids import Id
from omniline.workspaces.pages_common import (
    AdminPrincipal,
    admin_router,
    field_errors,
    form_status,
    page,
    text,
)

router = admin_router()

LANGUAGES = ("en", "ru", "uk")
NOTICES = frozenset({"created", "saved", "deleted"})


def _notice(request: Request) -> str | None:
    done = request.query_params.get("done")
    return done if done in NOTICES else None


def _go(path: str, done: str) -> RedirectResponse:
    assert done in NOTICES, done
    return RedirectResponse(f"{path}?done={done}", status_code=303)


def _submitted(form: FormData) -> dict[str, Any]:
    return {
        "shortcut": text(form, "shortcut"),
        "title": text(form, "title"),
        "text": text(form, "text"),
        "translations": {lang: text(form, f"tr_{lang}") for lang in LANGUAGES},
        "scope": text(form, "scope"),
    }


def _form_of(c: CannedResponse) -> dict[str, Any]:
    return {
        "shortcut": c.shortcut,
        "title": c.title,
        "text": c.text,
        "translations": dict(c.translations or {}),
        "scope": "shared" if c.scope == SHARED_SCOPE else "personal",
    }


def _base(admin: bool) -> str:
    return "/admin/canned" if admin else "/canned"


async def _list(
    request: Request,
    p: Principal,
    session: AsyncSession,
    *,
    admin: bool,
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    shared = await repository.of_scope(session, p.workspace_id, SHARED_SCOPE)
    personal = (
        []
        if admin
        else await repository.of_scope(session, p.workspace_id, personal_scope(p.user_id))
    )
    return page(
        request,
        p,
        "admin/canned.html" if admin else "admin/canned_personal.html",
        status=status,
        shared=shared,
        personal=personal,
        may_share=p.role in service.MANAGE_SHARED,
        languages=LANGUAGES,
        base=_base(admin),
        form=form or {"scope": "shared" if admin else "personal", "translations": {}},
        errors=errors or {},
        notice=_notice(request),
    )


async def _create(request: Request, p: Principal, session: AsyncSession, admin: bool) -> Response:
    form = await request.form()
    sub = _submitted(form)
    try:
        await service.do_create(
            session,
            p,
            shared=admin or sub["scope"] == "shared",
            shortcut=sub["shortcut"],
            title=sub["title"],
            text=sub["text"],
            translations=sub["translations"],
        )
    except DomainError as exc:
        await session.rollback()
        errors = field_errors(exc, "scope" if isinstance(exc, Forbidden) else "shortcut")
        return await _list(
            request, p, session, admin=admin, form=sub, errors=errors, status=form_status(exc)
        )
    return _go(_base(admin), "created")


async def _edit(
    request: Request,
    p: Principal,
    session: AsyncSession,
    canned_id: Id,
    *,
    admin: bool,
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    c = await _managed(session, p, canned_id, admin)
    return page(
        request,
        p,
        "admin/canned_edit.html",
        status=status,
        item=c,
        admin=admin,
        base=_base(admin),
        languages=LANGUAGES,
        form=form or _form_of(c),
        errors=errors or {},
    )


async def _managed(
    session: AsyncSession, p: Principal, canned_id: Id, admin: bool
) -> CannedResponse:
    c = await service.get_usable(session, p, canned_id)
    if admin and c.scope != SHARED_SCOPE:
        raise Forbidden("personal responses are managed by their owner")
    if not service.may_manage(p, c):
        raise Forbidden("only administrators and supervisors manage shared responses")
    return c


async def _save(
    request: Request, p: Principal, session: AsyncSession, canned_id: Id, admin: bool
) -> Response:
    await _managed(session, p, canned_id, admin)
    form = await request.form()
    sub = _submitted(form)
    try:
        await service.do_update(
            session,
            p,
            canned_id,
            shortcut=sub["shortcut"],
            title=sub["title"],
            text=sub["text"],
            translations=sub["translations"],
        )
    except DomainError as exc:
        await session.rollback()
        errors = field_errors(exc, "shortcut")
        return await _edit(
            request, p, session, canned_id, admin=admin, form=sub, errors=errors,
            status=form_status(exc),
        )  # fmt: skip
    return _go(_base(admin), "saved")


async def _delete(p: Principal, session: AsyncSession, canned_id: Id, admin: bool) -> Response:
    await _managed(session, p, canned_id, admin)
    await service.do_delete(session, p, canned_id)
    return _go(_base(admin), "deleted")


@router.get("/admin/canned")
async def admin_list(request: Request, p: AdminPrincipal, session: SessionDep) -> Response:
    return await _list(request, p, session, admin=True)


@router.post("/admin/canned")
async def admin_create(request: Request, p: AdminPrincipal, session: SessionDep) -> Response:
    return await _create(request, p, session, True)


@router.get("/admin/canned/{canned_id:int}")
async def admin_edit(
    request: Request, canned_id: Id, p: AdminPrincipal, session: SessionDep
) -> Response:
    return await _edit(request, p, session, canned_id, admin=True)


@router.post("/admin/canned/{canned_id:int}")
async def admin_save(
    request: Request, canned_id: Id, p: AdminPrincipal, session: SessionDep
) -> Response:
    return await _save(request, p, session, canned_id, True)


@router.post("/admin/canned/{canned_id:int}/delete")
async def admin_delete(canned_id: Id, p: AdminPrincipal, session: SessionDep) -> Response:
    return await _delete(p, session, canned_id, True)


@router.get("/canned")
async def my_list(request: Request, p: PagePrincipal, session: SessionDep) -> Response:
    return await _list(request, p, session, admin=False)


@router.post("/canned")
async def my_create(request: Request, p: PagePrincipal, session: SessionDep) -> Response:
    return await _create(request, p, session, False)


@router.get("/canned/{canned_id:int}")
async def my_edit(
    request: Request, canned_id: Id, p: PagePrincipal, session: SessionDep
) -> Response:
    return await _edit(request, p, session, canned_id, admin=False)


@router.post("/canned/{canned_id:int}")
async def my_save(
    request: Request, canned_id: Id, p: PagePrincipal, session: SessionDep
) -> Response:
    return await _save(request, p, session, canned_id, False)


@router.post("/canned/{canned_id:int}/delete")
async def my_delete(canned_id: Id, p: PagePrincipal, session: SessionDep) -> Response:
    return await _delete(p, session, canned_id, False)
