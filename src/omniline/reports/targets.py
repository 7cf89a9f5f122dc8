"""KPI targets of the reports page: defaults, the workspace's own values, and attainment.

Attainment colours a tile: green when the target is met, amber when it is missed by at most
10 % of the target, red beyond (docs/reports.md, "Targets").
"""

from __future__ import annotations

from typing import Any, Literal

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.auth import access
from omniline.auth.principal import Principal
from omniline.reports.models import ReportTarget

# metric -> (default, which way is better, unit)
DEFAULTS: dict[str, tuple[float, Literal["higher", "lower"], Literal["ratio", "seconds"]]] = {
    "service_level": (0.8, "higher", "ratio"),
    "asa_s": (20.0, "lower", "seconds"),
    "abandon_rate": (0.05, "lower", "ratio"),
    "frt_s": (60.0, "lower", "seconds"),
    "csat": (0.85, "higher", "ratio"),
    "answer_rate": (0.95, "higher", "ratio"),
    "resolution_rate": (0.8, "higher", "ratio"),
    "aht_s": (300.0, "lower", "seconds"),
}
AMBER_MARGIN = 0.1


def attainment(metric: str, value: float | None, target: float) -> str | None:
    """green, amber or red; None without a figure (nothing to colour)."""
    if value is None or metric not in DEFAULTS:
        return None
    better = DEFAULTS[metric][1]
    if (value >= target) if better == "higher" else (value <= target):
        return "green"
    gap = (target - value) if better == "higher" else (value - target)
    return "amber" if gap <= abs(target) * AMBER_MARGIN else "red"


async def targets(session: AsyncSession, workspace_id: int) -> dict[str, dict[str, Any]]:
    own = {
        t.metric: t.value
        for t in await session.scalars(
            select(ReportTarget).where(ReportTarget.workspace_id == workspace_id)
        )
    }
    return {
        metric: {
            "value": own.get(metric, default),
            "default": default,
            "better": better,
            "unit": unit,
        }
        for metric, (default, better, unit) in DEFAULTS.items()
    }


async def do_set_targets(
    session: AsyncSession, p: Principal, values: dict[str, float | None]
) -> dict[str, dict[str, Any]]:
    """Set the given targets; None puts a metric back to its default. Validated by schemas."""
    access.check_may_set_report_targets(p)
    for metric, value in values.items():
        await session.execute(
            delete(ReportTarget).where(
                ReportTarget.workspace_id == p.workspace_id, ReportTarget.metric == metric
            )
        )
        if value is not None:
            session.add(ReportTarget(workspace_id=p.workspace_id, metric=metric, value=value))
    await session.flush()
    return await targets(session, p.workspace_id)
