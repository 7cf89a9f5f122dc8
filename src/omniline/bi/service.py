"""The nightly BI export's schedule: one durable job per workspace, re-queued by itself.

A job carries the first day it has to write; it writes every day from there to yesterday
(the workspace's own calendar; at most ``CATCH_UP_DAYS`` per run), then queues the next run
for the next day at ``bi_export_hour``. A worker that was down for three days writes the
three days when it comes back. Nothing runs while ``OMNILINE_BI_EXPORT_DIR`` is unset.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.bi.export import ExportResult, export_days, formats_of
from omniline.config import get_settings
from omniline.jobs import service as jobs
from omniline.jobs.models import Job, JobState
from omniline.kit.clock import utcnow
from omniline.workspaces.models import Workspace

NIGHTLY = "bi_export"
CATCH_UP_DAYS = 31


def workspace_zone(ws: Workspace) -> ZoneInfo:
    try:
        return ZoneInfo(ws.timezone)
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


def run_time(day: date, tz: ZoneInfo, hour: int) -> datetime:
    """When ``day`` is exported: ``hour`` o'clock of the next day, in the workspace's zone."""
    return datetime.combine(day + timedelta(days=1), time(hour), tzinfo=tz).astimezone(UTC)


def yesterday(tz: ZoneInfo, now: datetime | None = None) -> date:
    return (now or utcnow()).astimezone(tz).date() - timedelta(days=1)


async def ensure_nightly(session: AsyncSession, ws: Workspace) -> bool:
    """Queue the workspace's export job unless one is waiting or running; True if queued."""
    queued = await session.scalar(
        select(Job.id).where(
            Job.kind == NIGHTLY,
            Job.workspace_id == ws.id,
            Job.state.in_((JobState.pending.value, JobState.running.value)),
        )
    )
    if queued is not None:
        return False
    tz = workspace_zone(ws)
    day = yesterday(tz)
    await jobs.enqueue(
        session,
        NIGHTLY,
        {"workspace_id": ws.id, "day": day.isoformat()},
        workspace_id=ws.id,
        run_at=max(utcnow(), run_time(day, tz, get_settings().bi_export_hour)),
    )
    return True


async def ensure_all(session: AsyncSession) -> int:
    if get_settings().bi_export_dir is None:
        return 0
    queued = 0
    for ws in await session.scalars(select(Workspace).order_by(Workspace.id)):
        queued += await ensure_nightly(session, ws)
    return queued


async def run_nightly(session: AsyncSession, workspace_id: int, first: date) -> ExportResult | None:
    """Write the days from ``first`` to yesterday and queue the next run."""
    settings = get_settings()
    ws = await session.get(Workspace, workspace_id)
    if ws is None or settings.bi_export_dir is None:
        return None
    tz = workspace_zone(ws)
    last = min(yesterday(tz), first + timedelta(days=CATCH_UP_DAYS - 1))
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    out = Path(settings.bi_export_dir) / ws.slug
    result = await export_days(session, ws.id, days, tz, out, formats_of(settings.bi_export_format))
    following = max(first, last + timedelta(days=1))
    await jobs.enqueue(
        session,
        NIGHTLY,
        {"workspace_id": ws.id, "day": following.isoformat()},
        workspace_id=ws.id,
        run_at=max(utcnow(), run_time(following, tz, settings.bi_export_hour)),
    )
    return result
