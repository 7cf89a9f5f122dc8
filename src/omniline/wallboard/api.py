"""Staff API of the wallboard (docs/api.md, "Wallboard")."""

from __future__ import annotations

from typing import Any

from omniline.auth.deps import CurrentPrincipal, SessionDep
from omniline.kit.routing import router as make_router
from omniline.wallboard import service

router = make_router(prefix="/api/v1", tags=["wallboard"])


@router.get("/wallboard")
async def get_wallboard(p: CurrentPrincipal, session: SessionDep) -> dict[str, Any]:
    """The initial state; the page then follows ``wallboard`` frames on the staff socket."""
    return await service.wallboard_view(session, p)
