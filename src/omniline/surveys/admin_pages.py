"""Admin page "Surveys": each inbox's survey settings, edited in a plain form."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select

from omniline.auth.deps import SessionDep
from omniline.inboxes.models import Inbox
from omniline.kit.ids import Id
from omniline.surveys import service, texts
from omniline.surveys.schemas import SettingIn, setting_view
from omniline.workspaces.pages_common import AdminPrincipal, admin_router, checked, page, text

router = admin_router()


async def _inboxes(session: Any, workspace_id: int) -> list[Inbox]:
    rows = await session.scalars(
        select(Inbox).where(Inbox.workspace_id == workspace_id).order_by(Inbox.id)
    )
    return list(rows)


@router.get("/admin/surveys")
async def surveys_page(request: Request, p: AdminPrincipal, session: SessionDep) -> Response:
    inboxes = await _inboxes(session, p.workspace_id)
    rows = [(ib, await service.setting_of(session, p.workspace_id, ib.id)) for ib in inboxes]
    return page(
        request,
        p,
        "admin/surveys.html",
        rows=rows,
        saved=request.query_params.get("saved") == "1",
    )


async def _edit(
    request: Request,
    p: AdminPrincipal,
    session: SessionDep,
    inbox_id: int,
    *,
    values: dict[str, Any] | None = None,
    error: str = "",
    status: int = 200,
) -> Response:
    setting = await service.setting_of(session, p.workspace_id, inbox_id)
    inbox = await session.get(Inbox, inbox_id)
    return page(
        request,
        p,
        "admin/surveys_edit.html",
        status=status,
        inbox=inbox,
        values=values or setting_view(setting),
        languages=texts.LANGUAGES,
        fields=texts.FIELDS,
        defaults=texts.DEFAULTS,
        error=error,
    )


@router.get("/admin/surveys/{inbox_id:int}")
async def edit_page(
    inbox_id: Id, request: Request, p: AdminPrincipal, session: SessionDep
) -> Response:
    return await _edit(request, p, session, inbox_id)


@router.post("/admin/surveys/{inbox_id:int}")
async def save(inbox_id: Id, request: Request, p: AdminPrincipal, session: SessionDep) -> Response:
    form = await request.form()
    raw: dict[str, Any] = {
        "enabled": checked(form, "enabled"),
        "kind": text(form, "kind"),
        "ask_comment": checked(form, "ask_comment"),
        "bot_only": checked(form, "bot_only"),
        "texts": {
            lang: {f: text(form, f"{lang}.{f}")[:1000] for f in texts.FIELDS}
            for lang in texts.LANGUAGES
        },
    }
    for name in ("delay_minutes", "expiry_hours"):
        value = text(form, name).strip()
        raw[name] = int(value) if value.isdigit() and len(value) < 10 else -1
    try:
        body = SettingIn.model_validate(raw)
    except ValidationError as exc:
        where = ", ".join(".".join(str(x) for x in e["loc"]) for e in exc.errors())
        return await _edit(request, p, session, inbox_id, values=raw, error=where, status=422)
    await service.do_save_setting(session, p.workspace_id, inbox_id, body.data())
    return RedirectResponse("/admin/surveys?saved=1", status_code=303)
