"""Admin pages: workspaces' people, teams, queues and inboxes."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from omniline.auth import access
from omniline.auth.deps import PagePrincipal, SessionDep
from omniline.kit.routing import router as make_router
from omniline.web.context import staff_context
from omniline.web.templating import render

router = make_router(include_in_schema=False)


@router.get("/admin")
async def admin_index(request: Request, p: PagePrincipal, session: SessionDep) -> Response:
    access.check_admin(p)
    return render(request, "admin/index.html", staff_context(request, p), locale=p.locale)
