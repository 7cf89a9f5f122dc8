"""Saved report definitions: personal or shared, optionally mailed on a schedule."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.analytics.service import workspace_zone
from omniline.auth import access
from omniline.auth.principal import Principal
from omniline.errors import Conflict, NoSuch, NotFound
from omniline.inboxes.models import Inbox
from omniline.jobs.service import enqueue
from omniline.kit.clock import iso, utcnow
from omniline.reports.models import SavedReport
from omniline.reports.schedule import next_run
from omniline.reports.schemas import SavedReportIn

MAIL_JOB = "report_mail"


def view(r: SavedReport) -> dict[str, Any]:
    return {
        "id": r.id,
        "name": r.name,
        "owner_id": r.owner_id,
        "shared": r.shared,
        "preset": r.preset,
        "by": r.by,
        "dimension": r.dimension,
        "filters": r.filters,
        "schedule": r.schedule,
        "next_run_at": iso(r.next_run_at),
        "last_sent_at": iso(r.last_sent_at),
        "last_error": r.last_error,
    }


async def listing(session: AsyncSession, p: Principal) -> list[SavedReport]:
    """Mine and the workspace's shared ones."""
    access.check_may_save_reports(p)
    rows = await session.scalars(
        select(SavedReport)
        .where(
            SavedReport.workspace_id == p.workspace_id,
            or_(SavedReport.owner_id == p.user_id, SavedReport.shared.is_(True)),
        )
        .order_by(SavedReport.name, SavedReport.id)
    )
    return list(rows)


async def get(session: AsyncSession, p: Principal, report_id: int) -> SavedReport:
    r = await session.get(SavedReport, report_id)
    if r is None or r.workspace_id != p.workspace_id or not (r.shared or r.owner_id == p.user_id):
        raise NotFound("no such saved report")
    return r


async def _check_sender(session: AsyncSession, p: Principal, body: SavedReportIn) -> None:
    if body.schedule is None:
        return
    inbox = await session.get(Inbox, body.schedule.inbox_id)
    if inbox is None or inbox.workspace_id != p.workspace_id:
        raise NoSuch("schedule.inbox_id", "no such inbox in this workspace")
    # The request is right; the inbox it names cannot send mail (what is stored): 409.
    if inbox.channel != "email":
        raise Conflict(
            "schedule.inbox_id: not an email inbox",
            fields=[{"field": "schedule.inbox_id", "message": "not an email inbox"}],
        )
    if not (inbox.settings or {}).get("smtp_host"):
        message = "that email inbox has no SMTP server to send from"
        raise Conflict(
            f"schedule.inbox_id: {message}",
            fields=[{"field": "schedule.inbox_id", "message": message}],
        )


async def _apply(session: AsyncSession, r: SavedReport, body: SavedReportIn) -> None:
    r.name, r.shared, r.preset, r.by, r.dimension = (
        body.name, body.shared, body.preset, body.by, body.dimension,
    )  # fmt: skip
    r.filters = body.filters.model_dump(exclude_none=True)
    r.schedule = body.schedule.model_dump() if body.schedule else None
    if r.schedule is None:
        r.next_run_at = None
        return
    zone = await workspace_zone(session, r.workspace_id)
    r.next_run_at = next_run(r.schedule["every"], r.schedule["hour"], zone, utcnow())
    await session.flush()
    # The job carries the time it is for: a later change makes an older job a no-op.
    await enqueue(
        session, MAIL_JOB, {"saved_report_id": r.id, "due": iso(r.next_run_at)},
        run_at=r.next_run_at, workspace_id=r.workspace_id, max_attempts=5,
    )  # fmt: skip


async def do_create(session: AsyncSession, p: Principal, body: SavedReportIn) -> SavedReport:
    access.check_may_save_reports(p, shared=body.shared)
    await _check_sender(session, p, body)
    r = SavedReport(workspace_id=p.workspace_id, owner_id=p.user_id, name=body.name, preset="")
    session.add(r)
    await session.flush()
    await _apply(session, r, body)
    await session.flush()
    return r


async def do_update(
    session: AsyncSession, p: Principal, report_id: int, body: SavedReportIn
) -> SavedReport:
    r = await get(session, p, report_id)
    access.check_may_edit_saved_report(p, r.owner_id, shared=body.shared)
    await _check_sender(session, p, body)
    await _apply(session, r, body)
    await session.flush()
    return r


async def do_delete(session: AsyncSession, p: Principal, report_id: int) -> None:
    r = await get(session, p, report_id)
    access.check_may_edit_saved_report(p, r.owner_id, shared=r.shared)
    await session.delete(r)
    await session.flush()
