"""The agent workspace page: one window for every channel."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from omniline.auth import repository as users
from omniline.auth.deps import PagePrincipal, SessionDep
from omniline.inboxes import repository as inboxes
from omniline.kit.routing import router as make_router
from omniline.web.context import staff_context
from omniline.web.templating import render
from omniline.workspaces import repository as workspaces

router = make_router(include_in_schema=False)


@router.get("/")
async def root() -> Response:
    return RedirectResponse("/app", status_code=303)


@router.get("/app")
async def workspace(request: Request, p: PagePrincipal, session: SessionDep) -> Response:
    ctx = staff_context(request, p)
    ctx.update(
        queues=[
            {"id": q.id, "name": q.name}
            for q in await workspaces.queues(session, p.workspace_id)
            if p.queue_ids is None or q.id in p.queue_ids
        ],
        inboxes=[
            {"id": i.id, "name": i.name, "channel": i.channel}
            for i in await inboxes.of_workspace(session, p.workspace_id)
        ],
        agents=[
            {"id": u.id, "name": u.name, "role": u.role}
            for u in await users.users_of(session, p.workspace_id)
            if u.active and u.role != "qa"
        ],
    )
    return render(request, "workspace.html", ctx, locale=p.locale)
