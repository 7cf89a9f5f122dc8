"""Admin pages of routing rules: the ordered list, the editor and the dry run."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.auth.deps import SessionDep
from omniline.auth.principal import Principal
from omniline.errors import DomainError, Invalid
from omniline.inboxes import repository as inboxes_repo
from omniline.kit.ids import MAX_ID, Id
from omniline.routing import forms, repository, rules, service
from omniline.routing.schemas import CONDITION_TYPES, OPERATORS
from omniline.workspaces import repository as workspaces_repo
from omniline.workspaces.pages_common import (
    AdminPrincipal,
    admin_router,
    field_errors,
    form_status,
    page,
    text,
)

router = admin_router()
DONE = frozenset({"created", "saved", "deleted", "moved", "toggled"})


def _back(path: str, done: str) -> RedirectResponse:
    assert done in DONE
    return RedirectResponse(f"{path}?done={done}", status_code=303)


def _done(request: Request) -> str | None:
    done = request.query_params.get("done")
    return done if done in DONE else None


@router.get("/admin/routing")
async def list_rules(request: Request, p: AdminPrincipal, session: SessionDep) -> Response:
    names = await rules.queue_names(session, p.workspace_id)
    views = [rules.rule_view(r, names) for r in await repository.rules(session, p.workspace_id)]
    for i, v in enumerate(views):  # up/down move only among equal priorities
        v["can_up"] = i > 0 and views[i - 1]["priority"] == v["priority"]
        v["can_down"] = i + 1 < len(views) and views[i + 1]["priority"] == v["priority"]
    return page(request, p, "admin/routing.html", rules=views, done=_done(request))


async def _editor(
    request: Request,
    p: Principal,
    session: AsyncSession,
    *,
    rule_id: Id | None,
    form: dict[str, str],
    rows: list[dict[str, str]],
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    errors = errors or {}
    row_errors: dict[int, list[str]] = {}
    for key, msg in errors.items():
        if key.startswith("conditions["):
            index = int(key[len("conditions[") : key.index("]")])
            sub = key[key.index("]") + 2 :] if "]." in key else ""
            row_errors.setdefault(index, []).append(f"{sub}: {msg}" if sub else msg)
    return page(
        request,
        p,
        "admin/routing_edit.html",
        status=status,
        rule_id=rule_id,
        form=form,
        rows=rows,
        row_errors=row_errors,
        errors=errors,
        queues=await workspaces_repo.queues(session, p.workspace_id),
        inboxes=await inboxes_repo.of_workspace(session, p.workspace_id),
        condition_types=CONDITION_TYPES,
        operators=OPERATORS,
        done=_done(request),
    )


@router.get("/admin/routing/new")
async def new_rule(request: Request, p: AdminPrincipal, session: SessionDep) -> Response:
    form = {"priority": "0", "enabled": "on"}
    return await _editor(
        request, p, session, rule_id=None, form=form, rows=forms.with_blanks([], 3)
    )


@router.get("/admin/routing/{rule_id:int}")
async def edit_rule(
    request: Request, rule_id: Id, p: AdminPrincipal, session: SessionDep
) -> Response:
    view = rules.rule_view(await rules.get_rule(session, p.workspace_id, rule_id))
    rows = forms.with_blanks([forms.row_of(c) for c in view["conditions"]])
    return await _editor(request, p, session, rule_id=rule_id, form=forms.form_of(view), rows=rows)


async def _save(
    request: Request, p: Principal, session: AsyncSession, rule_id: Id | None
) -> Response:
    form = await request.form()
    if rule_id is not None:
        await rules.get_rule(session, p.workspace_id, rule_id)  # 404 before anything else
    submitted = {k: text(form, k) for k in forms.form_of({}) if k != "enabled"}
    submitted["enabled"] = text(form, "enabled")
    rows = forms.rows_from_form(form)
    if text(form, "add_row"):  # "Add a condition" without JavaScript: re-render, save nothing
        return await _editor(
            request, p, session, rule_id=rule_id, form=submitted,
            rows=forms.with_blanks(rows, forms.BLANK_ROWS + 1),
        )  # fmt: skip
    named = {
        i.name.casefold(): i.id for i in await inboxes_repo.of_workspace(session, p.workspace_id)
    }
    try:
        data = forms.rule_from_form(form, named)
        if rule_id is None:
            await rules.do_create_rule(session, p.workspace_id, data)
        else:
            await rules.do_update_rule(session, p.workspace_id, rule_id, data)
    except DomainError as exc:
        await session.rollback()
        return await _editor(
            request, p, session, rule_id=rule_id, form=submitted, rows=forms.with_blanks(rows),
            errors=field_errors(exc, "name"), status=form_status(exc),
        )  # fmt: skip
    return _back("/admin/routing", "created" if rule_id is None else "saved")


@router.post("/admin/routing/new")
async def create_rule(request: Request, p: AdminPrincipal, session: SessionDep) -> Response:
    return await _save(request, p, session, None)


@router.post("/admin/routing/{rule_id:int}")
async def save_rule(
    request: Request, rule_id: Id, p: AdminPrincipal, session: SessionDep
) -> Response:
    return await _save(request, p, session, rule_id)


@router.post("/admin/routing/{rule_id:int}/toggle")
async def toggle_rule(
    request: Request, rule_id: Id, p: AdminPrincipal, session: SessionDep
) -> Response:
    row = await rules.get_rule(session, p.workspace_id, rule_id)
    await rules.do_set_enabled(session, p.workspace_id, rule_id, not row.enabled)
    return _back("/admin/routing", "toggled")


@router.post("/admin/routing/{rule_id:int}/move")
async def move_rule(
    request: Request, rule_id: Id, p: AdminPrincipal, session: SessionDep
) -> Response:
    form = await request.form()
    await rules.do_move(session, p.workspace_id, rule_id, text(form, "direction"))
    return _back("/admin/routing", "moved")


@router.post("/admin/routing/{rule_id:int}/delete")
async def delete_rule(
    request: Request, rule_id: Id, p: AdminPrincipal, session: SessionDep
) -> Response:
    await rules.do_delete_rule(session, p.workspace_id, rule_id)
    return _back("/admin/routing", "deleted")


async def _dry_page(
    request: Request,
    p: Principal,
    session: AsyncSession,
    *,
    form: dict[str, str],
    result: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    return page(
        request,
        p,
        "admin/routing_dry_run.html",
        status=status,
        form=form,
        result=result,
        errors=errors or {},
        inboxes=await inboxes_repo.of_workspace(session, p.workspace_id),
    )


@router.get("/admin/routing/dry-run")
async def dry_run_form(request: Request, p: AdminPrincipal, session: SessionDep) -> Response:
    return await _dry_page(request, p, session, form={})


DRY_FIELDS = ("contact", "inbox_id", "first_text", "to_address", "topic")


@router.post("/admin/routing/dry-run")
async def dry_run(request: Request, p: AdminPrincipal, session: SessionDep) -> Response:
    form = await request.form()
    submitted = {k: text(form, k) for k in DRY_FIELDS}
    try:
        contact = await repository.find_contact(session, p.workspace_id, submitted["contact"])
        if contact is None:
            raise Invalid("contact", "no contact with this id, external id or email")
        if not submitted["inbox_id"].isdigit() or int(submitted["inbox_id"]) > MAX_ID:
            raise Invalid("inbox_id", "choose an inbox")
        result = await service.dry_run(
            session,
            p.workspace_id,
            contact.id,
            submitted["first_text"],
            int(submitted["inbox_id"]),
            to_address=submitted["to_address"] or None,
            topic=submitted["topic"] or None,
        )
    except DomainError as exc:
        return await _dry_page(
            request, p, session, form=submitted, errors=field_errors(exc, "contact"),
            status=form_status(exc),
        )  # fmt: skip
    result["contact"] = {"id": contact.id, "name": contact.name, "external_id": contact.external_id}
    return await _dry_page(request, p, session, form=submitted, result=result)
