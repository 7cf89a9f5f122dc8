"""Staff API: canned responses, rendering one for a conversation, and the workspace's tags."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Response
from sqlalchemy import func, select

from omniline.auth.deps import CurrentPrincipal, SessionDep
from omniline.canned import service
from omniline.canned.schemas import CannedIn, CannedPatch, canned_view
from omniline.conversations.models import ConversationTag
from omniline.kit.ids import Id
from omniline.kit.routing import router as make_router

router = make_router(prefix="/api/v1", tags=["canned"])

LANGUAGE_PARAM = r"^[A-Za-z]{2,3}(-\w{2,8})?$"


@router.get("/canned")
async def list_canned(
    p: CurrentPrincipal,
    session: SessionDep,
    q: Annotated[str, Query(max_length=100)] = "",
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
) -> dict[str, Any]:
    items = await service.search(session, p, q, limit)
    return {"items": [{**canned_view(c), "editable": service.may_manage(p, c)} for c in items]}


@router.post("/canned", status_code=201)
async def create_canned(body: CannedIn, p: CurrentPrincipal, session: SessionDep) -> dict[str, Any]:
    c = await service.do_create(
        session,
        p,
        shared=body.shared,
        shortcut=body.shortcut,
        title=body.title,
        text=body.text,
        translations=body.translations,
    )
    return canned_view(c)


@router.get("/canned/{canned_id}")
async def get_canned(canned_id: Id, p: CurrentPrincipal, session: SessionDep) -> dict[str, Any]:
    return canned_view(await service.get_usable(session, p, canned_id))


@router.patch("/canned/{canned_id}")
async def update_canned(
    canned_id: Id, body: CannedPatch, p: CurrentPrincipal, session: SessionDep
) -> dict[str, Any]:
    c = await service.do_update(
        session,
        p,
        canned_id,
        shortcut=body.shortcut,
        title=body.title,
        text=body.text,
        translations=body.translations,
    )
    return canned_view(c)


@router.delete("/canned/{canned_id}", status_code=204)
async def delete_canned(canned_id: Id, p: CurrentPrincipal, session: SessionDep) -> Response:
    await service.do_delete(session, p, canned_id)
    return Response(status_code=204)


@router.get("/conversations/{conv_id}/canned/{canned_id}/render")
async def render_canned(
    conv_id: Id,
    canned_id: Id,
    p: CurrentPrincipal,
    session: SessionDep,
    language: Annotated[str | None, Query(max_length=16, pattern=LANGUAGE_PARAM)] = None,
) -> dict[str, Any]:
    text, lang = await service.render(session, p, conv_id, canned_id, language)
    return {"text": text, "language": lang}


@router.get("/tags")
async def list_tags(
    p: CurrentPrincipal,
    session: SessionDep,
    q: Annotated[str, Query(max_length=64)] = "",
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    """Tags used in this workspace, most used first (suggestions for the tag editor)."""
    used = func.count().label("n")
    stmt = (
        select(ConversationTag.tag, used)
        .where(ConversationTag.workspace_id == p.workspace_id)
        .group_by(ConversationTag.tag)
        .order_by(used.desc(), ConversationTag.tag)
        .limit(limit)
    )
    needle = q.strip().lower()
    if needle:
        escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        stmt = stmt.where(ConversationTag.tag.like(escaped + "%", escape="\\"))
    rows = (await session.execute(stmt)).all()
    return {"items": [{"tag": tag, "count": int(n)} for tag, n in rows]}
