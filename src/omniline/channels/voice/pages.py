"""Supervisors' pages of the phone channel: the callback list with each line's PBX link and
queues. The shell and the first rows render here; voice/callbacks.js keeps them live."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import Response
from sqlalchemy import select

from omniline.auth import access
from omniline.auth.deps import PagePrincipal, SessionDep
from omniline.auth.principal import Principal
from omniline.bots.models import BotFlow
from omniline.channels.voice import callbacks, campaigns
from omniline.inboxes.models import Inbox
from omniline.workspaces import repository as workspaces
from omniline.workspaces.pages_common import admin_router, page

router = admin_router()


async def lead_principal(p: PagePrincipal) -> Principal:
    """Supervisors and administrators (the callback list is theirs); agents get a 403 page."""
    access.check_may_manage_callbacks(p)
    return p


LeadPrincipal = Annotated[Principal, Depends(lead_principal)]


@router.get("/voice/callbacks")
async def callback_list(request: Request, p: LeadPrincipal, session: SessionDep) -> Response:
    queues = await workspaces.queues(session, p.workspace_id)
    lines = await session.scalars(
        select(Inbox)
        .where(Inbox.workspace_id == p.workspace_id, Inbox.channel == "voice")
        .order_by(Inbox.id)
    )
    return page(
        request,
        p,
        "voice/callbacks.html",
        items=await callbacks.listing(session, p.workspace_id, p.queue_ids),
        queues={q.id: q.name for q in queues},
        lines=[{"inbox_id": i.id, "name": i.name} for i in lines],
    )


async def campaign_principal(p: PagePrincipal) -> Principal:
    """Supervisors and administrators run call campaigns (the API's own rule); agents get 403."""
    campaigns.check_may_run_campaigns(p)
    return p


CampaignPrincipal = Annotated[Principal, Depends(campaign_principal)]


@router.get("/voice/campaigns")
async def campaign_list(request: Request, p: CampaignPrincipal, session: SessionDep) -> Response:
    """The shell and the choices of the new-campaign form (phone lines, published flows,
    queues); voice/campaigns.js lists the campaigns from the API and polls their progress."""
    lines = await session.scalars(
        select(Inbox)
        .where(Inbox.workspace_id == p.workspace_id, Inbox.channel == "voice")
        .order_by(Inbox.id)
    )
    flows = await session.scalars(
        select(BotFlow)
        .where(BotFlow.workspace_id == p.workspace_id, BotFlow.published_version_id.is_not(None))
        .order_by(BotFlow.name, BotFlow.id)
    )
    queues = await workspaces.queues(session, p.workspace_id)
    return page(
        request,
        p,
        "voice/campaigns.html",
        lines=[{"id": i.id, "name": i.name} for i in lines],
        flows=[{"id": f.id, "name": f.name} for f in flows],
        queues=[{"id": q.id, "name": q.name} for q in queues],
    )
