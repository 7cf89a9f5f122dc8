"""Lists the workspace UI filters by, and the contact profile."""

from __future__ import annotations

from typing import Any

from omniline.auth import repository as users
from omniline.auth.deps import CurrentPrincipal, SessionDep
from omniline.contacts.service import contact_view
from omniline.inboxes import repository as inboxes
from omniline.kit.ids import Id
from omniline.kit.routing import router as make_router
from omniline.workspaces import repository

router = make_router(prefix="/api/v1", tags=["workspace"])


@router.get("/queues")
async def list_queues(p: CurrentPrincipal, session: SessionDep) -> dict[str, Any]:
    return {
        "items": [
            {
                "id": q.id,
                "name": q.name,
                "team_id": q.team_id,
                "priority": q.priority,
                "visible": p.queue_ids is None or q.id in p.queue_ids,
            }
            for q in await repository.queues(session, p.workspace_id)
        ]
    }


@router.get("/inboxes")
async def list_inboxes(p: CurrentPrincipal, session: SessionDep) -> dict[str, Any]:
    return {
        "items": [
            {"id": i.id, "name": i.name, "channel": i.channel, "enabled": i.enabled}
            for i in await inboxes.of_workspace(session, p.workspace_id)
        ]
    }


@router.get("/users")
async def list_users(p: CurrentPrincipal, session: SessionDep) -> dict[str, Any]:
    return {
        "items": [
            {"id": u.id, "name": u.name, "role": u.role, "active": u.active}
            for u in await users.users_of(session, p.workspace_id)
        ]
    }


@router.get("/contacts/{contact_id}")
async def get_contact(contact_id: Id, p: CurrentPrincipal, session: SessionDep) -> dict[str, Any]:
    return await contact_view(session, p, contact_id)
