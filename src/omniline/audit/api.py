"""Audit log API: read only (administrators and quality reviewers); there is no write route."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query

from omniline.audit import repository, service
from omniline.audit.schemas import ACTION_PATTERN, TARGET_TYPE_PATTERN, entry_view
from omniline.auth.deps import CurrentPrincipal, SessionDep
from omniline.errors import Invalid
from omniline.kit.fields import DateTime
from omniline.kit.ids import MAX_ID
from omniline.kit.routing import router as make_router

router = make_router(prefix="/api/v1", tags=["audit"])


@router.get("/audit")
async def list_audit(
    p: CurrentPrincipal,
    session: SessionDep,
    actor_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    action: Annotated[str | None, Query(max_length=100, pattern=ACTION_PATTERN)] = None,
    target_type: Annotated[str | None, Query(max_length=32, pattern=TARGET_TYPE_PATTERN)] = None,
    target_id: Annotated[str | None, Query(max_length=64)] = None,
    since: DateTime | None = None,
    until: DateTime | None = None,
    before_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    """Newest first. Page on with ``before_id`` = the answer's ``next_before_id``."""
    for name, value in (("since", since), ("until", until)):
        if value is not None and value.tzinfo is None:
            raise Invalid(name, "give a time zone, e.g. 2026-01-31T00:00:00Z")
    filters = repository.Filters(
        actor_id=actor_id,
        action=action,
        target_type=target_type,
        target_id=target_id,
        since=since,
        until=until,
        before_id=before_id,
    )
    rows = await service.search(session, p, filters, limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return {
        "items": [entry_view(e) for e in rows],
        "next_before_id": rows[-1].id if more and rows else None,
    }
