"""Admin pages: default capacities, queue routing settings, agents' capacities and skills."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.auth import repository as users
from omniline.auth.deps import SessionDep
from omniline.auth.principal import Principal
from omniline.errors import DomainError
from omniline.kit.ids import MAX_ID, Id
from omniline.presence import repository as repo
from omniline.presence import service
from omniline.presence.models import ChannelKind, Strategy
from omniline.workspaces import repository as workspaces
from omniline.workspaces.pages_common import (
    AdminPrincipal,
    admin_router,
    checked,
    field_errors,
    form_status,
    found,
    page,
    text,
)

router = admin_router()
KINDS = [k.value for k in ChannelKind]


def _saved(path: str) -> RedirectResponse:
    return RedirectResponse(f"{path}?saved=1", status_code=303)


async def _overview(
    request: Request,
    p: Principal,
    session: AsyncSession,
    *,
    defaults_form: dict[str, Any] | None = None,
    routing_forms: dict[int, dict[str, Any]] | None = None,
    errors: dict[str, str] | None = None,
    error_queue: int | None = None,
    status: int = 200,
) -> Response:
    settings = await repo.settings_of(session, p.workspace_id)
    queues = await workspaces.queues(session, p.workspace_id)
    forms = routing_forms or {}
    for q in queues:
        if q.id not in forms:
            r = await repo.routing_of(session, p.workspace_id, q.id)
            forms[q.id] = {
                "strategy": r.strategy, "auto_assign": r.auto_assign,
                "requires_acceptance": r.requires_acceptance,
                "acceptance_seconds": str(r.acceptance_seconds),
            }  # fmt: skip
    return page(
        request,
        p,
        "admin/presence.html",
        status=status,
        agents=await service.team_presence(session, p),
        defaults=defaults_form
        or {
            **{k: str(getattr(settings, k)) for k in KINDS},
            "requeue_on_away": settings.requeue_on_away,
        },
        queues=queues,
        routing_forms=forms,
        strategies=[s.value for s in Strategy],
        kinds=KINDS,
        errors=errors or {},
        error_queue=error_queue,
        saved=request.query_params.get("saved") == "1",
    )


@router.get("/admin/presence")
async def overview(request: Request, p: AdminPrincipal, session: SessionDep) -> Response:
    return await _overview(request, p, session)


@router.post("/admin/presence/defaults")
async def save_defaults(request: Request, p: AdminPrincipal, session: SessionDep) -> Response:
    form = await request.form()
    values = {k: text(form, k) for k in KINDS}
    try:
        await service.do_save_defaults(session, p, dict(values), checked(form, "requeue_on_away"))
    except DomainError as exc:
        await session.rollback()
        submitted = {**values, "requeue_on_away": checked(form, "requeue_on_away")}
        return await _overview(
            request, p, session, defaults_form=submitted,
            errors=field_errors(exc, "chat"), status=form_status(exc),
        )  # fmt: skip
    return _saved("/admin/presence")


@router.post("/admin/presence/queues/{queue_id:int}")
async def save_routing(
    request: Request, queue_id: Id, p: AdminPrincipal, session: SessionDep
) -> Response:
    form = await request.form()
    submitted = {
        "strategy": text(form, "strategy"),
        "auto_assign": checked(form, "auto_assign"),
        "requires_acceptance": checked(form, "requires_acceptance"),
        "acceptance_seconds": text(form, "acceptance_seconds"),
    }
    try:
        await service.do_save_routing(
            session, p, queue_id, strategy=text(form, "strategy"),
            auto_assign=checked(form, "auto_assign"),
            requires_acceptance=checked(form, "requires_acceptance"),
            acceptance_seconds=text(form, "acceptance_seconds"),
        )  # fmt: skip
    except DomainError as exc:
        await session.rollback()
        return await _overview(
            request, p, session, routing_forms={queue_id: submitted},
            errors=field_errors(exc, "strategy"), error_queue=queue_id, status=form_status(exc),
        )  # fmt: skip
    return _saved("/admin/presence")


async def _agent_page(
    request: Request,
    p: Principal,
    session: AsyncSession,
    user_id: Id,
    *,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    user = found(await users.user_by_id(session, p.workspace_id, user_id), "user")
    state = await repo.state_of(session, p.workspace_id, user_id)
    skills = await repo.skills_of(session, p.workspace_id, user_id)
    member_of = set(await repo.member_queue_ids(session, user_id))
    queues = [q for q in await workspaces.queues(session, p.workspace_id) if q.id in member_of]
    if form is None:
        form = {k: "" for k in KINDS}
        for k in KINDS:
            value = getattr(state, f"{k}_capacity", None) if state else None
            form[k] = "" if value is None else str(value)
        for q in queues:
            form[f"level_{q.id}"] = str(skills.get(q.id, 5))
    defaults = await repo.settings_of(session, p.workspace_id)
    return page(
        request,
        p,
        "admin/presence_agent.html",
        status=status,
        agent=user,
        queues=queues,
        form=form,
        errors=errors or {},
        kinds=KINDS,
        defaults={k: getattr(defaults, k) for k in KINDS},
        saved=request.query_params.get("saved") == "1",
    )


@router.get("/admin/presence/agents/{user_id:int}")
async def show_agent(
    request: Request, user_id: Id, p: AdminPrincipal, session: SessionDep
) -> Response:
    return await _agent_page(request, p, session, user_id)


@router.post("/admin/presence/agents/{user_id:int}")
async def save_agent(
    request: Request, user_id: Id, p: AdminPrincipal, session: SessionDep
) -> Response:
    form = await request.form()
    caps = {k: text(form, k) for k in KINDS}
    levels: dict[int, object] = {}
    for key in form:
        if key.startswith("level_") and key[6:].isdigit() and int(key[6:]) <= MAX_ID:
            levels[int(key[6:])] = text(form, key)
    try:
        await service.do_save_agent(session, p, user_id, dict(caps), levels)
    except DomainError as exc:
        await session.rollback()
        submitted = {**caps, **{f"level_{q}": str(v) for q, v in levels.items()}}
        return await _agent_page(
            request, p, session, user_id, form=submitted,
            errors=field_errors(exc, "chat"), status=form_status(exc),
        )  # fmt: skip
    return _saved(f"/admin/presence/agents/{user_id}")
