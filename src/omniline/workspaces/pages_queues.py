"""Admin pages: queues (departments, lines) and the agents who answer them."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.auth import repository as users
from omniline.auth.deps import SessionDep
from omniline.auth.principal import Principal
from omniline.errors import DomainError
from omniline.kit.ids import Id
from omniline.workspaces import repository, service
from omniline.workspaces.pages_common import (
    AdminPrincipal,
    admin_router,
    field_errors,
    form_status,
    found,
    ids,
    optional_id,
    page,
    redirect,
    text,
    whole_number,
)

router = admin_router()


async def _list(
    request: Request,
    p: Principal,
    session: AsyncSession,
    *,
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    ms = await service.memberships(session, p.workspace_id)
    people = {u.id: u.name for u in await users.users_of(session, p.workspace_id)}
    teams = await repository.teams(session, p.workspace_id)
    team_names = {t.id: t.name for t in teams}
    rows = [
        {
            "queue": q,
            "team": team_names.get(q.team_id) if q.team_id is not None else None,
            "members": sorted(people[u] for u in ms.users_of_queue.get(q.id, [])),
        }
        for q in await repository.queues(session, p.workspace_id)
    ]
    return page(
        request,
        p,
        "admin/queues.html",
        status=status,
        rows=rows,
        teams=teams,
        form=form or {"priority": "0"},
        errors=errors or {},
    )


@router.get("/admin/queues")
async def list_queues(request: Request, p: AdminPrincipal, session: SessionDep) -> Response:
    return await _list(request, p, session)


@router.post("/admin/queues")
async def create_queue(request: Request, p: AdminPrincipal, session: SessionDep) -> Response:
    form = await request.form()
    try:
        await service.do_create_queue(
            session,
            p.workspace_id,
            text(form, "name"),
            team_id=optional_id(form, "team_id"),
            priority=whole_number(form, "priority"),
        )
    except DomainError as exc:
        await session.rollback()
        submitted = {k: text(form, k) for k in ("name", "team_id", "priority")}
        return await _list(
            request,
            p,
            session,
            form=submitted,
            errors=field_errors(exc, "name"),
            status=form_status(exc),
        )
    return redirect("/admin/queues", ok="queue_created")


async def _queue_page(
    request: Request,
    p: Principal,
    session: AsyncSession,
    queue_id: Id,
    *,
    member_ids: set[str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    queue = found(await repository.queue(session, p.workspace_id, queue_id), "queue")
    if member_ids is None:
        member_ids = {str(u.id) for u in await repository.queue_members(session, queue.id)}
    team = await repository.team(session, p.workspace_id, queue.team_id) if queue.team_id else None
    return page(
        request,
        p,
        "admin/queue.html",
        status=status,
        queue=queue,
        team=team,
        people=await users.users_of(session, p.workspace_id),
        member_ids=member_ids,
        errors=errors or {},
    )


@router.get("/admin/queues/{queue_id:int}")
async def show_queue(
    request: Request, queue_id: Id, p: AdminPrincipal, session: SessionDep
) -> Response:
    return await _queue_page(request, p, session, queue_id)


@router.post("/admin/queues/{queue_id:int}")
async def save_queue(
    request: Request, queue_id: Id, p: AdminPrincipal, session: SessionDep
) -> Response:
    form = await request.form()
    found(await repository.queue(session, p.workspace_id, queue_id), "queue")
    try:
        await service.do_set_queue_members(session, p.workspace_id, queue_id, ids(form, "user_ids"))
    except DomainError as exc:  # a chosen person is not (or no longer) in this workspace
        await session.rollback()
        chosen = {v for v in form.getlist("user_ids") if isinstance(v, str)}
        return await _queue_page(
            request,
            p,
            session,
            queue_id,
            member_ids=chosen,
            errors=field_errors(exc, "user_ids"),
            status=form_status(exc),
        )
    return redirect(f"/admin/queues/{queue_id}", ok="queue_saved")
