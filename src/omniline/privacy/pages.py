"""Admin page "Privacy": the retention setting, and a contact's export and erasure."""

from __future__ import annotations

import orjson
from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from omniline.auth.deps import SessionDep
from omniline.errors import DomainError, Invalid
from omniline.privacy import service
from omniline.workspaces.pages_common import AdminPrincipal, admin_router, page, text

router = admin_router()
DONE = frozenset({"retention", "erased"})


def _contact_id(raw: str) -> int:
    raw = raw.strip().lstrip("#")
    if not raw.isdigit() or len(raw) > 15 or int(raw) < 1:
        raise Invalid("contact_id", "give a contact number")
    return int(raw)


async def _page(
    request: Request, p: AdminPrincipal, session: SessionDep, *, status: int = 200, **extra: object
) -> Response:
    done = request.query_params.get("done")
    return page(
        request,
        p,
        "admin/privacy.html",
        status=status,
        retention_days=await service.retention_of(session, p.workspace_id),
        done=done if done in DONE else None,
        **extra,
    )


@router.get("/admin/privacy")
async def privacy(request: Request, p: AdminPrincipal, session: SessionDep) -> Response:
    return await _page(request, p, session)


@router.post("/admin/privacy/retention")
async def save_retention(request: Request, p: AdminPrincipal, session: SessionDep) -> Response:
    form = await request.form()
    raw = text(form, "retention_days").strip()
    try:
        days = int(raw) if raw else None
    except ValueError:
        days = -1
    try:
        await service.do_set_retention(session, p, days)
    except DomainError as exc:
        return await _page(request, p, session, status=422, retention_error=exc.message)
    return RedirectResponse("/admin/privacy?done=retention", status_code=303)


@router.post("/admin/privacy/export")
async def export(request: Request, p: AdminPrincipal, session: SessionDep) -> Response:
    form = await request.form()
    try:
        contact_id = _contact_id(text(form, "contact_id"))
        data = await service.export_contact(session, p, contact_id)
    except DomainError as exc:
        return await _page(request, p, session, status=422, contact_error=exc.message)
    return Response(
        orjson.dumps(data, option=orjson.OPT_INDENT_2),
        media_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="contact-{contact_id}.json"',
            "Cache-Control": "no-store",
        },
    )


@router.post("/admin/privacy/erase")
async def erase(request: Request, p: AdminPrincipal, session: SessionDep) -> Response:
    form = await request.form()
    try:
        contact_id = _contact_id(text(form, "contact_id"))
        if text(form, "confirm") != "erase":
            raise Invalid("confirm", "tick the box to confirm: erasure cannot be undone")
        await service.do_erase_contact(session, p, contact_id)
    except DomainError as exc:
        return await _page(request, p, session, status=422, contact_error=exc.message)
    return RedirectResponse("/admin/privacy?done=erased", status_code=303)
