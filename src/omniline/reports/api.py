"""Reports API beside the analytics figures: KPI targets and exports (docs/api.md, "Reports")."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import Query
from fastapi.responses import Response

from omniline.analytics import service as analytics
from omniline.analytics.api import RANGE_REFUSALS, From, ScopeDep, To, Zone
from omniline.analytics.schemas import METRICS, By, Dimension
from omniline.auth.deps import CurrentPrincipal, SessionDep
from omniline.kit.ids import Id
from omniline.kit.routing import router as make_router
from omniline.reports import export, saved, targets
from omniline.reports.schemas import SavedReportIn, TargetsIn

router = make_router(prefix="/api/v1/reports", tags=["reports"])

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get("/targets")
async def get_targets(p: CurrentPrincipal, session: SessionDep) -> dict[str, Any]:
    return {"targets": await targets.targets(session, p.workspace_id)}


@router.put("/targets")
async def put_targets(body: TargetsIn, p: CurrentPrincipal, session: SessionDep) -> dict[str, Any]:
    return {"targets": await targets.do_set_targets(session, p, body.targets)}


@router.get("/saved")
async def list_saved(p: CurrentPrincipal, session: SessionDep) -> dict[str, Any]:
    return {"items": [saved.view(r) for r in await saved.listing(session, p)]}


@router.post("/saved", status_code=201)
async def create_saved(
    body: SavedReportIn, p: CurrentPrincipal, session: SessionDep
) -> dict[str, Any]:
    return saved.view(await saved.do_create(session, p, body))


@router.get("/saved/{report_id}")
async def get_saved(report_id: Id, p: CurrentPrincipal, session: SessionDep) -> dict[str, Any]:
    return saved.view(await saved.get(session, p, report_id))


@router.put("/saved/{report_id}")
async def update_saved(
    report_id: Id, body: SavedReportIn, p: CurrentPrincipal, session: SessionDep
) -> dict[str, Any]:
    return saved.view(await saved.do_update(session, p, report_id, body))


@router.delete("/saved/{report_id}", status_code=204)
async def delete_saved(report_id: Id, p: CurrentPrincipal, session: SessionDep) -> Response:
    await saved.do_delete(session, p, report_id)
    return Response(status_code=204)


@router.get("/export", response_class=Response, responses=RANGE_REFUSALS)
async def get_export(
    session: SessionDep,
    scope: ScopeDep,
    start: From,
    end: To,
    format: Annotated[Literal["csv", "xlsx"], Query()] = "xlsx",
    kind: Annotated[Literal["summary", "breakdown"], Query()] = "summary",
    by: By = "day",
    dimension: Dimension = "agent",
    tz: Zone = None,
    compare: bool = False,
) -> Response:
    """The same figures as /summary or /breakdown with the same parameters, as a file."""
    ws = scope.principal.workspace_id
    if kind == "summary":
        data = await analytics.summary(
            session, ws, start=start, end=end, by=by, tz=tz, filters=scope.filters
        )
        if compare:
            length = end - start
            prev_end = date.fromordinal(start.toordinal() - 1)
            data["previous"] = await analytics.total(
                session, ws, start=prev_end - length, end=prev_end, tz=data["tz"],
                filters=scope.filters,
            )  # fmt: skip
        rows = export.summary_table(data, METRICS)
    else:
        found = await analytics.breakdown(
            session, ws, start=start, end=end, dimension=dimension, tz=tz, filters=scope.filters
        )
        rows = export.breakdown_table(found, METRICS)
    name = f"report-{kind}-{start.isoformat()}-{end.isoformat()}"
    if format == "csv":
        body, media = export.to_csv(rows), "text/csv; charset=utf-8"
    else:
        body, media = export.to_xlsx(rows, kind), XLSX
    return Response(
        body,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{name}.{format}"'},
    )
