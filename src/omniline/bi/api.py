"""The reporting API: read-only, cursor-paginated, metadata only (docs/bi.md).

Reporting tokens (``omniline token create --reporting``) reach these routes and nothing
else; an administrator's own token reaches them too; everyone else gets a 403.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import Query

from omniline.auth import access
from omniline.auth.deps import ReportingPrincipal, SessionDep
from omniline.bi import datasets
from omniline.kit.clock import iso
from omniline.kit.fields import DateTime
from omniline.kit.ids import MAX_ID
from omniline.kit.routing import router as make_router

router = make_router(prefix="/api/v1/bi", tags=["bi"])

MAX_LIMIT = 1000

AfterId = Annotated[int, Query(ge=0, le=MAX_ID, description="rows with a larger id")]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
From = Annotated[DateTime | None, Query(alias="from", description="created at or after")]
To = Annotated[DateTime | None, Query(alias="to", description="created before")]
Since = Annotated[DateTime | None, Query(description="changed at or after")]


async def _answer(
    name: str,
    p: Any,
    session: Any,
    after_id: int,
    limit: int,
    start: Any,
    end: Any,
    updated_since: Any,
) -> dict[str, Any]:
    access.check_may_read_bi(p)
    # ``to`` at or before ``from`` is an empty window, answered with no rows as any other
    # window with nothing in it: an incremental loader that computes its windows (Power BI's
    # RangeStart/RangeEnd, an Airflow interval) may produce one, and a query should not fail
    # where a table would simply be empty. (The times always have their offset: DateTime.)
    window = datasets.Window(after_id, start, end, updated_since)
    rows = await datasets.page(session, datasets.DATASETS[name], p.workspace_id, window, limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return {
        "items": [
            {k: iso(v) if isinstance(v, datetime) else v for k, v in r.items()} for r in rows
        ],
        "next_after_id": rows[-1]["id"] if more else None,
    }


@router.get("/conversations")
async def bi_conversations(
    p: ReportingPrincipal,
    session: SessionDep,
    after_id: AfterId = 0,
    limit: Limit = 100,
    start: From = None,
    to: To = None,
    updated_since: Since = None,
) -> dict[str, Any]:
    """Conversations by id; ``updated_since`` filters on the last activity."""
    return await _answer("conversations", p, session, after_id, limit, start, to, updated_since)


@router.get("/messages")
async def bi_messages(
    p: ReportingPrincipal,
    session: SessionDep,
    after_id: AfterId = 0,
    limit: Limit = 100,
    start: From = None,
    to: To = None,
    updated_since: Since = None,
) -> dict[str, Any]:
    """Messages' metadata by id: direction, sender, length, attachments; never the text."""
    return await _answer("messages", p, session, after_id, limit, start, to, updated_since)


@router.get("/events")
async def bi_events(
    p: ReportingPrincipal,
    session: SessionDep,
    after_id: AfterId = 0,
    limit: Limit = 100,
    start: From = None,
    to: To = None,
    updated_since: Since = None,
) -> dict[str, Any]:
    """Conversation events by id: type, actor, time (not their details)."""
    return await _answer("events", p, session, after_id, limit, start, to, updated_since)


@router.get("/calls")
async def bi_calls(
    p: ReportingPrincipal,
    session: SessionDep,
    after_id: AfterId = 0,
    limit: Limit = 100,
    start: From = None,
    to: To = None,
    updated_since: Since = None,
) -> dict[str, Any]:
    """Phone calls by id, live and imported; ``updated_since`` also finds calls that ended since."""
    return await _answer("calls", p, session, after_id, limit, start, to, updated_since)


@router.get("/surveys")
async def bi_surveys(
    p: ReportingPrincipal,
    session: SessionDep,
    after_id: AfterId = 0,
    limit: Limit = 100,
    start: From = None,
    to: To = None,
    updated_since: Since = None,
) -> dict[str, Any]:
    """Survey answers (CSAT, NPS) by id, without the customer's comment."""
    return await _answer("surveys", p, session, after_id, limit, start, to, updated_since)
