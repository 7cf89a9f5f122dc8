"""Admin pages: staff users, their role, language, teams and queues, and password resets."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData

from omniline.auth import repository as users
from omniline.auth import service as auth_service
from omniline.auth import sessions
from omniline.auth.deps import SessionDep
from omniline.auth.models import Role, User
from omniline.auth.principal import Principal
from omniline.errors import DomainError, NotFound
from omniline.kit.ids import Id
from omniline.workspaces import repository, service
from omniline.workspaces.models import Workspace
from omniline.workspaces.pages_common import (
    AdminPrincipal,
    admin_router,
    checked,
    field_errors,
    form_status,
    found,
    ids,
    page,
    redirect,
    text,
    when,
)

router = admin_router()
ROLES = [r.value for r in Role]


def _submitted(form: FormData) -> dict[str, Any]:
    """What the admin typed, to show again when the form is refused (never the password)."""
    return {
        "name": text(form, "name"),
        "email": text(form, "email"),
        "role": text(form, "role"),
        "locale": text(form, "locale"),
        "active": checked(form, "active"),
        "team_ids": {v for v in form.getlist("team_ids") if isinstance(v, str)},
        "queue_ids": {v for v in form.getlist("queue_ids") if isinstance(v, str)},
    }


def _stored(user: User, ms: service.Memberships) -> dict[str, Any]:
    return {
        "name": user.name,
        "email": user.email,
        "role": user.role,
        "locale": user.locale,
        "active": user.active,
        "team_ids": {str(t) for t in ms.teams_of_user.get(user.id, [])},
        "queue_ids": {str(q) for q in ms.queues_of_user.get(user.id, [])},
    }


async def _choices(session: AsyncSession, workspace_id: Id) -> dict[str, Any]:
    return {
        "roles": ROLES,
        "teams": await repository.teams(session, workspace_id),
        "queues": await repository.queues(session, workspace_id),
    }


@router.get("/admin/users")
async def list_users(request: Request, p: AdminPrincipal, session: SessionDep) -> Response:
    ms = await service.memberships(session, p.workspace_id)
    team_names = {t.id: t.name for t in await repository.teams(session, p.workspace_id)}
    queue_names = {q.id: q.name for q in await repository.queues(session, p.workspace_id)}
    rows = [
        {
            "user": u,
            "teams": sorted(team_names[t] for t in ms.teams_of_user.get(u.id, [])),
            "queues": sorted(queue_names[q] for q in ms.queues_of_user.get(u.id, [])),
        }
        for u in await users.users_of(session, p.workspace_id)
    ]
    ws = await session.get(Workspace, p.workspace_id)
    roles = list(ws.two_factor_roles or []) if ws else []
    return page(request, p, "admin/users.html", rows=rows, two_factor_roles=roles)


async def _new_form(
    request: Request,
    p: Principal,
    session: AsyncSession,
    *,
    form: dict[str, Any],
    errors: dict[str, str],
    status: int = 200,
) -> Response:
    ctx = await _choices(session, p.workspace_id)
    return page(request, p, "admin/user_new.html", status=status, form=form, errors=errors, **ctx)


@router.get("/admin/users/new")
async def new_user(request: Request, p: AdminPrincipal, session: SessionDep) -> Response:
    blank = {"role": Role.agent.value, "locale": p.locale, "team_ids": set(), "queue_ids": set()}
    return await _new_form(request, p, session, form=blank, errors={})


@router.post("/admin/users")
async def create_user(request: Request, p: AdminPrincipal, session: SessionDep) -> Response:
    form = await request.form()
    try:
        team_ids, queue_ids = ids(form, "team_ids"), ids(form, "queue_ids")
        user = await auth_service.do_create_user(
            session,
            workspace_id=p.workspace_id,
            email=text(form, "email"),
            name=text(form, "name"),
            password=text(form, "password"),
            role=text(form, "role"),
            locale=text(form, "locale"),
        )
        await service.do_set_user_memberships(
            session, p.workspace_id, user.id, team_ids=team_ids, queue_ids=queue_ids
        )
    except DomainError as exc:
        await session.rollback()
        return await _new_form(
            request,
            p,
            session,
            form=_submitted(form),
            errors=field_errors(exc, "email"),
            status=form_status(exc),
        )
    return redirect("/admin/users", ok="user_created")


async def _edit_form(
    request: Request,
    p: Principal,
    session: AsyncSession,
    user_id: Id,
    *,
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    user = found(await users.user_by_id(session, p.workspace_id, user_id), "user")
    if form is None:
        form = _stored(user, await service.memberships(session, p.workspace_id))
    ctx = await _choices(session, p.workspace_id)
    live = await sessions.sessions_of(session, p, user.id)
    return page(
        request,
        p,
        "admin/user_edit.html",
        sessions=[
            {
                "created": when(s.created_at),
                "last_used": when(s.last_used_at),
                "client_ip": s.client_ip,
                "user_agent": s.user_agent,
            }
            for s in live
        ],
        status=status,
        target=user,
        created=when(user.created_at),
        is_self=user.id == p.user_id,
        form=form,
        errors=errors or {},
        **ctx,
    )


@router.get("/admin/users/{user_id:int}")
async def edit_user(
    request: Request, user_id: Id, p: AdminPrincipal, session: SessionDep
) -> Response:
    return await _edit_form(request, p, session, user_id)


@router.post("/admin/users/{user_id:int}")
async def save_user(
    request: Request, user_id: Id, p: AdminPrincipal, session: SessionDep
) -> Response:
    form = await request.form()
    try:
        team_ids, queue_ids = ids(form, "team_ids"), ids(form, "queue_ids")
        await auth_service.do_admin_update_user(
            session,
            p,
            user_id,
            name=text(form, "name"),
            role=text(form, "role"),
            locale=text(form, "locale"),
            active=checked(form, "active"),
        )
        await service.do_set_user_memberships(
            session, p.workspace_id, user_id, team_ids=team_ids, queue_ids=queue_ids
        )
    except NotFound:
        raise
    except DomainError as exc:
        await session.rollback()
        submitted = _submitted(form)
        return await _edit_form(
            request,
            p,
            session,
            user_id,
            form=submitted,
            errors=field_errors(exc, "name"),
            status=form_status(exc),
        )
    return redirect("/admin/users", ok="user_saved")


@router.post("/admin/users/{user_id:int}/password")
async def reset_password(
    request: Request, user_id: Id, p: AdminPrincipal, session: SessionDep
) -> Response:
    form = await request.form()
    try:
        await auth_service.do_reset_password(session, p, user_id, text(form, "password"))
    except NotFound:
        raise
    except DomainError as exc:
        await session.rollback()
        return await _edit_form(
            request,
            p,
            session,
            user_id,
            errors=field_errors(exc, "password"),
            status=form_status(exc),
        )
    return redirect(f"/admin/users/{user_id}", ok="password_reset")


@router.post("/admin/users/{user_id:int}/logout-everywhere")
async def logout_everywhere(
    request: Request, user_id: Id, p: AdminPrincipal, session: SessionDep
) -> Response:
    await sessions.do_end_all(session, p, user_id)
    return redirect(f"/admin/users/{user_id}", ok="signed_out")
