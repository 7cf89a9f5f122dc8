"""Reports API under /api/v1/reports: figures of docs/metrics.md (docs/api.md, "Reports")."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import Depends, Query

from omniline.analytics import service
from omniline.analytics.schemas import MAX_DAYS, By, Dimension, Filters, HeatmapMetric
from omniline.analytics.service import FIRST_DAY, LAST_DAY
from omniline.auth import access
from omniline.auth.deps import CurrentPrincipal, SessionDep
from omniline.auth.principal import Principal
from omniline.kit.fields import ZONES
from omniline.kit.ids import MAX_ID
from omniline.kit.openapi import refusals
from omniline.kit.routing import router as make_router

router = make_router(prefix="/api/v1/reports", tags=["reports"])

From = Annotated[date, Query(alias="from", description="first local day, YYYY-MM-DD")]
To = Annotated[date, Query(alias="to", description="last local day (inclusive), YYYY-MM-DD")]
# `from` after `to`, or more than MAX_DAYS days: a JSON schema cannot compare two parameters
# (schemathesis.toml). Also a day outside the years the figures are kept for (a pattern on the
# year, beside `format: date`, leaves too few dates for a generator to find).
RANGE_REFUSALS = refusals(
    {
        422: f"`from` is after `to`, the period is longer than {MAX_DAYS} days, or a day is "
        f"before {FIRST_DAY} or after {LAST_DAY}"
    }
)
# The workspace's zone when left out.
Zone = Annotated[
    str | None,
    Query(min_length=1, max_length=64, description="IANA zone", json_schema_extra=ZONES),
]
IdQ = Annotated[int | None, Query(ge=1, le=MAX_ID)]
Word = Annotated[str | None, Query(min_length=1, max_length=64)]


class _Scope:
    """The filters of a request, with the access rule applied (auth/access.py)."""

    def __init__(
        self,
        p: CurrentPrincipal,
        channel: Word = None,
        inbox_id: IdQ = None,
        queue_id: IdQ = None,
        team_id: IdQ = None,
        agent_id: IdQ = None,
        country: Annotated[str | None, Query(min_length=2, max_length=2)] = None,
        language: Annotated[str | None, Query(min_length=1, max_length=8)] = None,
        tag: Word = None,
    ) -> None:
        self.principal: Principal = p
        self.filters = Filters(
            channel=channel,
            inbox_id=inbox_id,
            queue_id=queue_id,
            team_id=team_id,
            agent_id=access.report_agent_scope(p, agent_id),
            country=country,
            language=language,
            tag=tag,
        )


ScopeDep = Annotated[_Scope, Depends(_Scope)]


@router.get("/summary", responses=RANGE_REFUSALS)
async def get_summary(
    session: SessionDep,
    scope: ScopeDep,
    start: From,
    end: To,
    by: By = "day",
    tz: Zone = None,
    compare: bool = False,
) -> dict[str, Any]:
    ws = scope.principal.workspace_id
    out = await service.summary(
        session, ws, start=start, end=end, by=by, tz=tz, filters=scope.filters
    )
    if compare:
        length = end - start
        prev_end = start - timedelta(days=1)
        out["previous"] = await service.total(
            session,
            ws,
            start=prev_end - length,
            end=prev_end,
            tz=out["tz"],
            filters=scope.filters,
        )
    return out


@router.get("/breakdown", responses=RANGE_REFUSALS)
async def get_breakdown(
    session: SessionDep,
    scope: ScopeDep,
    start: From,
    end: To,
    dimension: Dimension,
    tz: Zone = None,
) -> dict[str, Any]:
    rows = await service.breakdown(
        session,
        scope.principal.workspace_id,
        start=start,
        end=end,
        dimension=dimension,
        tz=tz,
        filters=scope.filters,
    )
    return {"rows": rows}


@router.get("/heatmap", responses=RANGE_REFUSALS)
async def get_heatmap(
    session: SessionDep,
    scope: ScopeDep,
    start: From,
    end: To,
    tz: Zone = None,
    metric: HeatmapMetric = "offered",
) -> dict[str, Any]:
    cells = await service.heatmap(
        session,
        scope.principal.workspace_id,
        start=start,
        end=end,
        tz=tz,
        filters=scope.filters,
        metric=metric,
    )
    return {"cells": cells}
