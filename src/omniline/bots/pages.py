"""Admin pages of bots: the flows, the inbox each greets with, and the visual builder."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from omniline.auth.deps import SessionDep
from omniline.bots import funnel, service
from omniline.errors import DomainError
from omniline.inboxes import repository as inboxes
from omniline.kit.ids import Id
from omniline.workspaces.pages_common import AdminPrincipal, admin_router, page, text

router = admin_router()
DONE = frozenset({"created", "deleted", "greets"})


async def _list(
    request: Request, p: AdminPrincipal, session: SessionDep, *, status: int = 200, **extra: object
) -> Response:
    done = request.query_params.get("done")
    return page(
        request,
        p,
        "admin/bots.html",
        status=status,
        flows=await service.flows(session, p.workspace_id),
        inboxes=await inboxes.of_workspace(session, p.workspace_id),
        done=done if done in DONE else None,
        **extra,
    )


@router.get("/admin/bots")
async def list_flows(request: Request, p: AdminPrincipal, session: SessionDep) -> Response:
    return await _list(request, p, session)


@router.post("/admin/bots")
async def create_flow(request: Request, p: AdminPrincipal, session: SessionDep) -> Response:
    form = await request.form()
    try:
        flow = await service.do_create_flow(
            session, p.workspace_id, text(form, "key"), text(form, "name")
        )
    except DomainError as exc:
        return await _list(
            request, p, session, status=exc.status, create_error=exc.message, form=dict(form)
        )
    return RedirectResponse(f"/admin/bots/{flow.id}", status_code=303)


@router.post("/admin/bots/inboxes")
async def set_inbox_flow(request: Request, p: AdminPrincipal, session: SessionDep) -> Response:
    form = await request.form()
    try:
        inbox_id = int(text(form, "inbox_id"))
        raw = text(form, "flow_id")
        await service.do_set_inbox_flow(
            session, p.workspace_id, inbox_id, int(raw) if raw else None
        )
    except (DomainError, ValueError) as exc:
        message = exc.message if isinstance(exc, DomainError) else "choose an inbox"
        status = exc.status if isinstance(exc, DomainError) else 422
        return await _list(request, p, session, status=status, inbox_error=message)
    return RedirectResponse("/admin/bots?done=greets", status_code=303)


@router.get("/admin/bots/{flow_id:int}")
async def builder(
    request: Request, flow_id: Id, p: AdminPrincipal, session: SessionDep
) -> Response:
    flow = await service.flow_of(session, p.workspace_id, flow_id)
    return page(
        request,
        p,
        "admin/bots_builder.html",
        flow=flow,
        stats=await funnel.funnel(session, p.workspace_id, flow.id),
    )
