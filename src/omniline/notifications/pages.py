"""Admin pages of notification templates: the list and a form with one text per language."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from omniline.auth.deps import SessionDep
from omniline.errors import DomainError
from omniline.kit.ids import Id
from omniline.notifications import service
from omniline.workspaces.pages_common import AdminPrincipal, admin_router, page, text

router = admin_router()
LANGUAGE_ROWS = 6


def _data(form: FormData) -> dict[str, Any]:
    texts = {}
    for i in range(LANGUAGE_ROWS):
        lang = text(form, f"lang_{i}").strip().lower()
        value = text(form, f"text_{i}").strip()
        if lang and value:
            texts[lang] = value
    data: dict[str, Any] = {
        "key": text(form, "key"),
        "name": text(form, "name"),
        "texts": texts,
        "fallback_language": text(form, "fallback_language") or None,
        "enabled": text(form, "enabled") == "on",
    }
    wa_name = text(form, "wa_name").strip()
    if wa_name:
        data["whatsapp"] = {
            "name": wa_name,
            "language": {
                k.strip(): v.strip()
                for k, _, v in (
                    part.partition("=") for part in text(form, "wa_language").split(",")
                )
                if k.strip() and v.strip()
            },
            "params": [p.strip() for p in text(form, "wa_params").split(",") if p.strip()],
        }
    return data


def _rows(texts: dict[str, str]) -> list[tuple[str, str]]:
    rows = list(texts.items()) or [("ru", ""), ("uk", ""), ("en", "")]
    return (rows + [("", "")] * LANGUAGE_ROWS)[:LANGUAGE_ROWS]


@router.get("/admin/notifications")
async def list_templates(request: Request, p: AdminPrincipal, session: SessionDep) -> Response:
    return page(
        request,
        p,
        "admin/notifications.html",
        templates=await service.templates(session, p.workspace_id),
        done=request.query_params.get("done") in ("saved", "deleted"),
    )


async def _form(
    request: Request, p: AdminPrincipal, template_id: int | None, form: dict[str, Any],
    status: int = 200, error: str | None = None,
) -> Response:  # fmt: skip
    return page(
        request,
        p,
        "admin/notifications_form.html",
        status=status,
        template_id=template_id,
        form=form,
        rows=_rows(form.get("texts") or {}),
        error=error,
    )


@router.get("/admin/notifications/new")
async def new_template(request: Request, p: AdminPrincipal) -> Response:
    return await _form(request, p, None, {"enabled": True, "texts": {}})


@router.get("/admin/notifications/{template_id:int}")
async def edit_template(
    request: Request, template_id: Id, p: AdminPrincipal, session: SessionDep
) -> Response:
    t = await service.template_of(session, p.workspace_id, template_id)
    form = {
        "key": t.key,
        "name": t.name,
        "texts": t.texts,
        "fallback_language": t.fallback_language,
        "enabled": t.enabled,
        "wa_name": (t.whatsapp or {}).get("name", ""),
        "wa_language": ", ".join(
            f"{k}={v}" for k, v in ((t.whatsapp or {}).get("language") or {}).items()
        ),
        "wa_params": ", ".join((t.whatsapp or {}).get("params") or []),
    }
    return await _form(request, p, t.id, form)


async def _submit(
    request: Request, p: AdminPrincipal, session: SessionDep, template_id: int | None
) -> Response:
    form = await request.form()
    data = _data(form)
    try:
        await service.do_save_template(session, p.workspace_id, data, template_id)
    except DomainError as exc:
        shown = {**data, "wa_name": text(form, "wa_name"), "wa_language": text(form, "wa_language"),
                 "wa_params": text(form, "wa_params")}  # fmt: skip
        return await _form(request, p, template_id, shown, exc.status, exc.message)
    return RedirectResponse("/admin/notifications?done=saved", status_code=303)


@router.post("/admin/notifications")
async def create_template(request: Request, p: AdminPrincipal, session: SessionDep) -> Response:
    return await _submit(request, p, session, None)


@router.post("/admin/notifications/{template_id:int}")
async def update_template(
    request: Request, template_id: Id, p: AdminPrincipal, session: SessionDep
) -> Response:
    return await _submit(request, p, session, template_id)


@router.post("/admin/notifications/{template_id:int}/delete")
async def delete_template(
    request: Request, template_id: Id, p: AdminPrincipal, session: SessionDep
) -> Response:
    await service.do_delete_template(session, p.workspace_id, template_id)
    return RedirectResponse("/admin/notifications?done=deleted", status_code=303)
