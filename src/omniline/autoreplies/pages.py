"""Admin pages of auto-replies: the list, a form with one text per language, and a preview."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData

from omniline.auth.deps import SessionDep
from omniline.auth.principal import Principal
from omniline.autoreplies import business_hours, repository, service, templates
from omniline.autoreplies.models import AutoReplyRule, Kind
from omniline.autoreplies.schemas import RuleData
from omniline.errors import DomainError, Invalid
from omniline.inboxes import repository as inboxes
from omniline.kit.ids import SMALL_MAX, Id
from omniline.workspaces import repository as workspaces
from omniline.workspaces.pages_common import (
    AdminPrincipal,
    admin_router,
    checked,
    field_errors,
    form_status,
    optional_id,
    page,
    text,
)

router = admin_router()
MAX_ROWS = 20
FLASHES = frozenset({"created", "saved", "deleted"})
FIELDS = (
    "name",
    "kind",
    "inbox_id",
    "queue_id",
    "fallback_language",
    "author_name",
    "calendar_id",
    "min_position",
    "min_wait_minutes",
)


def _optional_number(form: FormData, name: str) -> int | None:
    raw = text(form, name).strip()
    if not raw:
        return None
    try:
        number = int(raw)
    except ValueError:
        raise Invalid(name, "must be a whole number") from None
    if not 0 <= number <= SMALL_MAX:
        raise Invalid(name, f"must be between 0 and {SMALL_MAX}")
    return number


def _rows(form: FormData) -> list[tuple[str, str]]:
    """The typed (language, text) rows; rows left blank are dropped."""
    rows = []
    for i in range(MAX_ROWS):
        lang, body = text(form, f"texts.{i}.language"), text(form, f"texts.{i}.text")
        if lang.strip() or body.strip():
            rows.append((lang, body))
    return rows


def _data(form: FormData, rows: list[tuple[str, str]]) -> RuleData:
    return RuleData(
        name=text(form, "name"),
        kind=text(form, "kind"),
        inbox_id=optional_id(form, "inbox_id"),
        queue_id=optional_id(form, "queue_id"),
        enabled=checked(form, "enabled"),
        fallback_language=text(form, "fallback_language"),
        author_name=text(form, "author_name"),
        calendar_id=optional_id(form, "calendar_id"),
        replaces_greeting=checked(form, "replaces_greeting"),
        min_position=_optional_number(form, "min_position"),
        min_wait_minutes=_optional_number(form, "min_wait_minutes"),
        texts=rows,
    )


def _form_of(rule: AutoReplyRule | None, texts: dict[str, str]) -> dict[str, Any]:
    if rule is None:
        return {"kind": Kind.greeting.value, "enabled": True, "replaces_greeting": True,
                "fallback_language": "en", "rows": [("en", "")]}  # fmt: skip
    form: dict[str, Any] = {f: "" if (v := getattr(rule, f)) is None else str(v) for f in FIELDS}
    form.update(
        enabled=rule.enabled,
        replaces_greeting=rule.replaces_greeting,
        rows=sorted(texts.items(), key=lambda kv: (kv[0] != rule.fallback_language, kv[0])),
    )
    return form


def _submitted(form: FormData, rows: list[tuple[str, str]]) -> dict[str, Any]:
    out: dict[str, Any] = {f: text(form, f) for f in FIELDS}
    out.update(
        enabled=checked(form, "enabled"),
        replaces_greeting=checked(form, "replaces_greeting"),
        rows=rows,
    )
    return out


async def _choices(session: AsyncSession, workspace_id: Id) -> dict[str, Any]:
    return {
        "inboxes": await inboxes.of_workspace(session, workspace_id),
        "queues": await workspaces.queues(session, workspace_id),
        "calendars": await business_hours.calendars_of(session, workspace_id),
        "sla_available": business_hours.available(),
        "kinds": service.KINDS,
        "variables": {k: sorted(v) for k, v in templates.AVAILABLE.items()},
    }


async def _form_page(
    request: Request,
    p: Principal,
    session: AsyncSession,
    *,
    rule_id: Id | None,
    form: dict[str, Any],
    errors: dict[str, str] | None = None,
    previews: list[tuple[str, str]] | None = None,
    status: int = 200,
) -> Response:
    rows = list(form.get("rows") or [])
    form["rows"] = [*rows, ("", "")]  # one empty row to add a language
    return page(
        request,
        p,
        "admin/autoreplies_form.html",
        status=status,
        rule_id=rule_id,
        form=form,
        errors=errors or {},
        previews=previews or [],
        **await _choices(session, p.workspace_id),
    )


def _previews(kind: str, rows: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [
        (lang, service.preview(kind, body, f"texts.{i}.text"))
        for i, (lang, body) in enumerate(rows)
    ]


async def _submit(
    request: Request, p: Principal, session: AsyncSession, rule_id: Id | None
) -> Response:
    form = await request.form()
    rows = _rows(form)
    try:
        data = _data(form, rows)
        if text(form, "action") == "preview":
            return await _form_page(
                request,
                p,
                session,
                rule_id=rule_id,
                form=_submitted(form, rows),
                previews=_previews(data.kind, rows),
            )
        if rule_id is None:
            rule = await service.do_create_rule(session, p.workspace_id, data)
            flash = "created"
        else:
            rule = await service.do_update_rule(session, p.workspace_id, rule_id, data)
            flash = "saved"
    except DomainError as exc:
        await session.rollback()
        return await _form_page(
            request,
            p,
            session,
            rule_id=rule_id,
            form=_submitted(form, rows),
            errors=field_errors(exc, "name"),
            status=form_status(exc),
        )
    return RedirectResponse(f"/admin/autoreplies?done={flash}&rule={rule.id}", status_code=303)


@router.get("/admin/autoreplies")
async def list_rules(request: Request, p: AdminPrincipal, session: SessionDep) -> Response:
    rules = await repository.rules(session, p.workspace_id)
    texts = await repository.texts(session, [r.id for r in rules])
    done = request.query_params.get("done")
    return page(
        request,
        p,
        "admin/autoreplies.html",
        rules=rules,
        languages={r.id: sorted(texts[r.id]) for r in rules},
        inbox_names={i.id: i.name for i in await inboxes.of_workspace(session, p.workspace_id)},
        queue_names={q.id: q.name for q in await workspaces.queues(session, p.workspace_id)},
        done=done if done in FLASHES else None,
    )


@router.get("/admin/autoreplies/new")
async def new_rule(request: Request, p: AdminPrincipal, session: SessionDep) -> Response:
    return await _form_page(request, p, session, rule_id=None, form=_form_of(None, {}))


@router.post("/admin/autoreplies")
async def create_rule(request: Request, p: AdminPrincipal, session: SessionDep) -> Response:
    return await _submit(request, p, session, None)


@router.get("/admin/autoreplies/{rule_id:int}")
async def edit_rule(
    request: Request, rule_id: Id, p: AdminPrincipal, session: SessionDep
) -> Response:
    rule = await service.get_rule(session, p.workspace_id, rule_id)
    texts = (await repository.texts(session, [rule.id]))[rule.id]
    return await _form_page(request, p, session, rule_id=rule.id, form=_form_of(rule, texts))


@router.post("/admin/autoreplies/{rule_id:int}")
async def save_rule(
    request: Request, rule_id: Id, p: AdminPrincipal, session: SessionDep
) -> Response:
    await service.get_rule(session, p.workspace_id, rule_id)
    return await _submit(request, p, session, rule_id)


@router.post("/admin/autoreplies/{rule_id:int}/delete")
async def delete_rule(
    request: Request, rule_id: Id, p: AdminPrincipal, session: SessionDep
) -> Response:
    await service.do_delete_rule(session, p.workspace_id, rule_id)
    return RedirectResponse("/admin/autoreplies?done=deleted", status_code=303)
