"""The reports page: the shell, the filter choices and the targets render here;
static/reports/reports.js reads the figures from /api/v1/reports/* and draws the charts."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import Response
from sqlalchemy import select

from omniline.analytics.service import workspace_zone
from omniline.auth import access
from omniline.auth.deps import PagePrincipal, SessionDep
from omniline.auth.models import User
from omniline.auth.principal import Principal
from omniline.inboxes.models import Inbox
from omniline.reports import targets
from omniline.workspaces import repository as workspaces
from omniline.workspaces.pages_common import admin_router, page

router = admin_router()


async def lead_principal(p: PagePrincipal) -> Principal:
    """Supervisors and administrators; agents get a 403 page."""
    access.check_may_open_reports_page(p)
    return p


LeadPrincipal = Annotated[Principal, Depends(lead_principal)]


@router.get("/reports")
async def reports(request: Request, p: LeadPrincipal, session: SessionDep) -> Response:
    ws = p.workspace_id
    inboxes = list(
        await session.scalars(select(Inbox).where(Inbox.workspace_id == ws).order_by(Inbox.name))
    )
    # A scheduled report is sent through an email inbox's own SMTP server.
    mailboxes = [
        [i.id, i.name]
        for i in inboxes
        if i.channel == "email" and (i.settings or {}).get("smtp_host")
    ]
    agents = await session.scalars(
        select(User)
        .where(User.workspace_id == ws, User.role.in_(("agent", "supervisor")))
        .order_by(User.name, User.id)
    )
    choices = {
        "queue_id": [[q.id, q.name] for q in await workspaces.queues(session, ws)],
        "team_id": [[t.id, t.name] for t in await workspaces.teams(session, ws)],
        "inbox_id": [[i.id, i.name] for i in inboxes],
        "agent_id": [[u.id, u.name] for u in agents],
    }
    return page(
        request,
        p,
        "reports/reports.html",
        bootstrap={
            "choices": choices,
            "mailboxes": mailboxes,
            "targets": await targets.targets(session, ws),
            "tz": await workspace_zone(session, ws),
        },
    )
