"""The wallboard page: the shell and the first figures render here; static/wallboard/wallboard.js
follows the ``wallboard`` frames of the staff socket."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import Response

from omniline.auth import access
from omniline.auth.deps import PagePrincipal, SessionDep
from omniline.auth.principal import Principal
from omniline.wallboard import service
from omniline.workspaces.pages_common import admin_router, page

router = admin_router()


async def lead_principal(p: PagePrincipal) -> Principal:
    """Supervisors and administrators; agents get a 403 page."""
    access.check_may_see_wallboard(p)
    return p


LeadPrincipal = Annotated[Principal, Depends(lead_principal)]


@router.get("/wallboard")
async def wallboard(request: Request, p: LeadPrincipal, session: SessionDep) -> Response:
    return page(
        request, p, "wallboard/wallboard.html", board=await service.wallboard_view(session, p)
    )
