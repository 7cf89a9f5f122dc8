"""Admin pages: the workspace's people, teams, queues, inboxes, API tokens and failed jobs.

Every page is for administrators only (``access.check_admin``); the routes live in
``pages_*`` modules by subject and are gathered on this module's ``router``.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from omniline.auth.deps import SessionDep
from omniline.workspaces import (
    pages_channels,
    pages_inboxes,
    pages_jobs,
    pages_queues,
    pages_sessions,
    pages_teams,
    pages_tokens,
    pages_twofactor,
    pages_users,
    service,
)
from omniline.workspaces.pages_common import AdminPrincipal, admin_router, page

router = admin_router()


@router.get("/admin")
async def admin_index(request: Request, p: AdminPrincipal, session: SessionDep) -> Response:
    counts = await service.overview_counts(session, p.workspace_id, p.user_id)
    return page(request, p, "admin/index.html", counts=counts)


for _module in (pages_users, pages_teams, pages_queues, pages_inboxes, pages_tokens, pages_jobs):
    router.include_router(_module.router)
router.include_router(pages_channels.router)
router.include_router(pages_sessions.router)
router.include_router(pages_twofactor.router)
