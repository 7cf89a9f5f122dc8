"""Admin pages of business-hours calendars: the list with a new-calendar form, the editor."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.auth.deps import SessionDep
from omniline.auth.principal import Principal
from omniline.errors import DomainError, NotFound
from omniline.kit.ids import Id
from omniline.sla import calendars, forms, repository, service
from omniline.sla.business_time import WEEKDAYS
from omniline.sla.pages import back, done_of
from omniline.workspaces.pages_common import AdminPrincipal, admin_router, form_status, page

router = admin_router()


async def _render(
    request: Request,
    p: Principal,
    session: AsyncSession,
    *,
    calendar_id: Id | None,
    form: dict[str, str],
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    template = "admin/calendars_edit.html" if calendar_id else "admin/calendars.html"
    extra: dict[str, Any] = {}
    if calendar_id is None:
        extra["items"] = await repository.calendars(session, p.workspace_id)
    return page(
        request,
        p,
        template,
        status=status,
        form=form,
        errors=errors or {},
        weekdays=WEEKDAYS,
        calendar_id=calendar_id,
        done=done_of(request),
        **extra,
    )


async def _save(
    request: Request, p: Principal, session: AsyncSession, calendar_id: Id | None
) -> Response:
    submitted = forms.calendar_submitted(await request.form())
    lines: list[int] = []
    try:
        body, lines = forms.calendar_body(submitted)
        if calendar_id is None:
            await service.do_create_calendar(session, p, body)
        else:
            await service.do_update_calendar(session, p, calendar_id, body)
    except DomainError as exc:
        if isinstance(exc, NotFound):
            raise
        await session.rollback()
        return await _render(
            request,
            p,
            session,
            calendar_id=calendar_id,
            form=submitted,
            errors=forms.calendar_errors(exc, lines),
            status=form_status(exc),
        )
    if calendar_id is None:
        return back("/admin/sla/calendars", "calendar_created")
    return back(f"/admin/sla/calendars/{calendar_id}", "calendar_saved")


@router.get("/admin/sla/calendars")
async def list_calendars(request: Request, p: AdminPrincipal, session: SessionDep) -> Response:
    return await _render(request, p, session, calendar_id=None, form=forms.calendar_form(None))


@router.post("/admin/sla/calendars")
async def create_calendar(request: Request, p: AdminPrincipal, session: SessionDep) -> Response:
    return await _save(request, p, session, None)


@router.get("/admin/sla/calendars/{calendar_id:int}")
async def edit_calendar(
    request: Request, calendar_id: Id, p: AdminPrincipal, session: SessionDep
) -> Response:
    cal = await calendars.get_calendar(session, calendar_id, p.workspace_id)
    return await _render(request, p, session, calendar_id=cal.id, form=forms.calendar_form(cal))


@router.post("/admin/sla/calendars/{calendar_id:int}")
async def save_calendar(
    request: Request, calendar_id: Id, p: AdminPrincipal, session: SessionDep
) -> Response:
    await calendars.get_calendar(session, calendar_id, p.workspace_id)
    return await _save(request, p, session, calendar_id)


@router.post("/admin/sla/calendars/{calendar_id:int}/delete")
async def delete_calendar(
    request: Request, calendar_id: Id, p: AdminPrincipal, session: SessionDep
) -> Response:
    await service.do_delete_calendar(session, p, calendar_id)
    return back("/admin/sla/calendars", "deleted")
