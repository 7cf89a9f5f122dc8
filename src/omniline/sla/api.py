"""SLA administration API (admins) under /api/v1/sla."""

from __future__ import annotations

from typing import Any

from fastapi import Response

from omniline.auth import access
from omniline.auth.deps import CurrentPrincipal, SessionDep
from omniline.errors import NotFound
from omniline.kit.ids import Id
from omniline.kit.openapi import refusals
from omniline.kit.routing import router as make_router
from omniline.sla import calendars, repository, service
from omniline.sla.schemas import CalendarIn, PolicyIn

router = make_router(prefix="/api/v1/sla", tags=["sla"])
# What the schema of the hours cannot say: an interval's end after its start, no overlaps.
CALENDAR_REFUSALS = refusals(
    {
        409: "`name`: another calendar has this name",
        422: "An interval whose end is not after its start, intervals of one day that overlap, "
        "a holiday listed twice, or a week without working hours; `fields` names the place",
    }
)


@router.get("/calendars")
async def list_calendars(p: CurrentPrincipal, session: SessionDep) -> dict[str, Any]:
    access.check_admin(p)
    items = await repository.calendars(session, p.workspace_id)
    return {"items": [service.calendar_view(c) for c in items]}


@router.post("/calendars", status_code=201, responses=CALENDAR_REFUSALS)
async def create_calendar(
    body: CalendarIn, p: CurrentPrincipal, session: SessionDep
) -> dict[str, Any]:
    return service.calendar_view(await service.do_create_calendar(session, p, body))


@router.get("/calendars/{calendar_id}")
async def get_calendar(calendar_id: Id, p: CurrentPrincipal, session: SessionDep) -> dict[str, Any]:
    access.check_admin(p)
    return service.calendar_view(await calendars.get_calendar(session, calendar_id, p.workspace_id))


@router.put("/calendars/{calendar_id}", responses=CALENDAR_REFUSALS)
async def update_calendar(
    calendar_id: Id, body: CalendarIn, p: CurrentPrincipal, session: SessionDep
) -> dict[str, Any]:
    cal = await service.do_update_calendar(session, p, calendar_id, body)
    return service.calendar_view(cal)


@router.delete("/calendars/{calendar_id}", status_code=204)
async def delete_calendar(calendar_id: Id, p: CurrentPrincipal, session: SessionDep) -> Response:
    await service.do_delete_calendar(session, p, calendar_id)
    return Response(status_code=204)


@router.get("/policies")
async def list_policies(p: CurrentPrincipal, session: SessionDep) -> dict[str, Any]:
    access.check_admin(p)
    items = await repository.policies(session, p.workspace_id)
    return {"items": [service.policy_view(x) for x in items]}


@router.post("/policies", status_code=201)
async def create_policy(body: PolicyIn, p: CurrentPrincipal, session: SessionDep) -> dict[str, Any]:
    return service.policy_view(await service.do_create_policy(session, p, body))


@router.get("/policies/{policy_id}")
async def get_policy(policy_id: Id, p: CurrentPrincipal, session: SessionDep) -> dict[str, Any]:
    access.check_admin(p)
    policy = await repository.policy(session, p.workspace_id, policy_id)
    if policy is None:
        raise NotFound("no such SLA policy")
    return service.policy_view(policy)


@router.put("/policies/{policy_id}")
async def update_policy(
    policy_id: Id, body: PolicyIn, p: CurrentPrincipal, session: SessionDep
) -> dict[str, Any]:
    return service.policy_view(await service.do_update_policy(session, p, policy_id, body))


@router.delete("/policies/{policy_id}", status_code=204)
async def delete_policy(policy_id: Id, p: CurrentPrincipal, session: SessionDep) -> Response:
    await service.do_delete_policy(session, p, policy_id)
    return Response(status_code=204)
