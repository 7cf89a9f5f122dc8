"""Admin pages: teams (a supervisor's group of agents) and who is in them."""

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
    page,
    redirect,
    text,
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
    queues = await repository.queues(session, p.workspace_id)
    rows = [
        {
            "team": t,
            "members": sorted(people[u] for u in ms.users_of_team.get(t.id, [])),
            "queues": [q.name for q in queues if q.team_id == t.id],
        }
        for t in await repository.teams(session, p.workspace_id)
    ]
    return page(
        request,
        p,
        "admin/teams.html",
        status=status,
        rows=rows,
        form=form or {},
        errors=errors or {},
    )


@router.get("/admin/teams")
async def list_teams(request: Request, p: AdminPrincipal, session: SessionDep) -> Response:
    return await _list(request, p, session)


@router.post("/admin/teams")
async def create_team(request: Request, p: AdminPrincipal, session: SessionDep) -> Response:
    form = await request.form()
    try:
        await service.do_create_team(session, p.workspace_id, text(form, "name"))
    except DomainError as exc:
        await session.rollback()
        return await _list(
            request,
            p,
            session,
            form={"name": text(form, "name")},
            errors=field_errors(exc, "name"),
            status=exc.status,
        )
    return redirect("/admin/teams", ok="team_created")


async def _team_page(
    request: Request,
    p: Principal,
    session: AsyncSession,
    team_id: Id,
    *,
    member_ids: set[str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    team = found(await repository.team(session, p.workspace_id, team_id), "team")
    if member_ids is None:
        member_ids = {str(u.id) for u in await repository.team_members(session, team.id)}
    queues = [q for q in await repository.queues(session, p.workspace_id) if q.team_id == team.id]
    return page(
        request,
        p,
        "admin/team.html",
        status=status,
        team=team,
        queues=queues,
        people=await users.users_of(session, p.workspace_id),
        member_ids=member_ids,
        errors=errors or {},
    )


@router.get("/admin/teams/{team_id:int}")
async def show_team(
    request: Request, team_id: Id, p: AdminPrincipal, session: SessionDep
) -> Response:
    return await _team_page(request, p, session, team_id)


@router.post("/admin/teams/{team_id:int}")
async def save_team(
    request: Request, team_id: Id, p: AdminPrincipal, session: SessionDep
) -> Response:
    form = await request.form()
    found(await repository.team(session, p.workspace_id, team_id), "team")
    try:
        await service.do_set_team_members(session, p.workspace_id, team_id, ids(form, "user_ids"))
    except DomainError as exc:  # a chosen person is not (or no longer) in this workspace
        await session.rollback()
        chosen = {v for v in form.getlist("user_ids") if isinstance(v, str)}
        return await _team_page(
            request,
            p,
            session,
            team_id,
            member_ids=chosen,
            errors=field_errors(exc, "user_ids"),
            status=form_status(exc),
        )
    return redirect(f"/admin/teams/{team_id}", ok="team_saved")
