"""Staff API of presence and assignment (docs/api.md)."""

from __future__ import annotations

from typing import Any

from omniline.auth.deps import CurrentPrincipal, SessionDep
from omniline.conversations.notify import summary_of
from omniline.kit.ids import Id
from omniline.kit.routing import router as make_router
from omniline.presence import manual, service
from omniline.presence.schemas import PresenceIn

router = make_router(prefix="/api/v1", tags=["presence"])


@router.get("/me/presence")
async def get_my_presence(p: CurrentPrincipal, session: SessionDep) -> dict[str, Any]:
    return await service.presence_view(session, p.workspace_id, p.user_id)


@router.put("/me/presence")
async def set_my_presence(
    body: PresenceIn, p: CurrentPrincipal, session: SessionDep
) -> dict[str, Any]:
    await service.do_set_presence(session, p.workspace_id, p.user_id, body.status)
    return await service.presence_view(session, p.workspace_id, p.user_id)


@router.get("/presence")
async def list_presence(p: CurrentPrincipal, session: SessionDep) -> dict[str, Any]:
    return {"items": await service.team_presence(session, p)}


@router.post("/me/take-next")
async def take_next_mine(p: CurrentPrincipal, session: SessionDep) -> dict[str, Any]:
    return summary_of(await manual.do_take_next(session, p))


@router.post("/queues/{queue_id}/take-next")
async def take_next_in_queue(
    queue_id: Id, p: CurrentPrincipal, session: SessionDep
) -> dict[str, Any]:
    return summary_of(await manual.do_take_next(session, p, queue_id))


@router.post("/conversations/{conv_id}/pick")
async def pick(conv_id: Id, p: CurrentPrincipal, session: SessionDep) -> dict[str, Any]:
    return summary_of(await manual.do_pick(session, p, conv_id))


@router.post("/conversations/{conv_id}/accept")
async def accept(conv_id: Id, p: CurrentPrincipal, session: SessionDep) -> dict[str, Any]:
    return summary_of(await manual.do_accept(session, p, conv_id))
