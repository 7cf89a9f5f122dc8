"""Staff API for contacts: likely duplicates and merging (the profile is in workspaces/api.py)."""

from __future__ import annotations

from typing import Any

from omniline.auth.deps import CurrentPrincipal, SessionDep
from omniline.contacts import merge, service
from omniline.contacts.schemas import MergeIn
from omniline.kit.ids import Id
from omniline.kit.openapi import refusals
from omniline.kit.routing import router as make_router

router = make_router(prefix="/api/v1", tags=["contacts"])


@router.get("/contacts/{contact_id}/duplicates")
async def list_duplicates(
    contact_id: Id, p: CurrentPrincipal, session: SessionDep
) -> dict[str, Any]:
    return {"items": await merge.duplicates(session, p, contact_id)}


@router.post(
    "/contacts/{contact_id}/merge",
    responses=refusals(
        {422: "`other_id` is the contact of the path: a contact is not merged with itself"}
    ),
)
async def merge_contact(
    contact_id: Id, body: MergeIn, p: CurrentPrincipal, session: SessionDep
) -> dict[str, Any]:
    keep = await service.do_merge(session, p, contact_id, body.other_id)
    return await service.contact_view(session, p, keep.id)
