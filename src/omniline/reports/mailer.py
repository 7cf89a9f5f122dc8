"""The ``report_mail`` job: a scheduled report as an XLSX attachment with a short summary.

The job carries the run it is for; a report deleted, unscheduled or rescheduled meanwhile
makes it a no-op. After sending (or giving up) the next run is queued in the same unit of
work, so a crash between two runs never loses the schedule.
"""

from __future__ import annotations

import logging
from datetime import datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.analytics import service as analytics
from omniline.analytics.schemas import METRICS, Filters
from omniline.auth.models import User
from omniline.channels.email.sender import SmtpSettings, describe_smtp_error, transmit
from omniline.inboxes.models import Inbox
from omniline.jobs.registry import job
from omniline.jobs.service import enqueue
from omniline.kit.clock import iso, utcnow
from omniline.reports import export
from omniline.reports.models import SavedReport
from omniline.reports.saved import MAIL_JOB
from omniline.reports.schedule import next_run, period_of
from omniline.web.i18n import gettext

log = logging.getLogger(__name__)


def N_(message: str) -> str:
    return message


BODY_METRICS = (
    ("offered", N_("Offered")),
    ("answered", N_("Answered")),
    ("service_level", N_("Service level")),
    ("asa_s", N_("Average speed of answer")),
    ("abandon_rate", N_("Abandonment rate")),
    ("aht_s", N_("Average handle time")),
    ("csat", N_("CSAT")),
)


def _shown(metric: str, value: Any) -> str:
    if value is None:
        return "-"
    if metric in ("service_level", "abandon_rate", "csat"):
        return f"{value * 100:.1f} %"
    if metric.endswith("_s"):
        return f"{value:g} s"
    return f"{value:g}"


async def build(session: AsyncSession, r: SavedReport, run_at: datetime) -> EmailMessage:
    """The letter in the language of the report's owner."""
    locale = await session.scalar(select(User.locale).where(User.id == r.owner_id)) or "en"

    def _(message: str) -> str:
        return gettext(locale, message)

    zone = await analytics.workspace_zone(session, r.workspace_id)
    start, end = period_of(r.preset, run_at.astimezone(ZoneInfo(zone)).date())
    filters = Filters(**r.filters)
    data = await analytics.summary(
        session,
        r.workspace_id,
        start=start,
        end=end,
        by=r.by,  # type: ignore[arg-type]  # checked by SavedReportIn when saved
        tz=zone,
        filters=filters,
    )
    rows = export.summary_table(data, METRICS)
    letter = EmailMessage()
    letter["Subject"] = f"{r.name}: {start.isoformat()} - {end.isoformat()}"
    letter["Date"] = formatdate(localtime=False)
    lines = [f"{r.name}, {start.isoformat()} - {end.isoformat()} ({zone})", ""]
    lines += [f"{_(label)}: {_shown(m, data['total'].get(m))}" for m, label in BODY_METRICS]
    lines += ["", _("Every figure, per period, is in the attached file.")]
    letter.set_content("\n".join(lines))
    letter.add_attachment(
        export.to_xlsx(rows, "summary"),
        maintype="application",
        subtype="vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        filename=f"report-{start.isoformat()}-{end.isoformat()}.xlsx",
    )
    return letter


@job(MAIL_JOB)
async def mail_report(session: AsyncSession, payload: dict[str, Any]) -> None:
    r = await session.get(SavedReport, int(payload["saved_report_id"]))
    if r is None or r.schedule is None or iso(r.next_run_at) != payload.get("due"):
        return  # deleted, unscheduled or rescheduled: its own job is queued
    schedule = r.schedule
    inbox = await session.get(Inbox, int(schedule["inbox_id"]))
    cfg = SmtpSettings.of(inbox.settings or {}) if inbox is not None else None
    sender = str((inbox.settings or {}).get("address") or "") if inbox is not None else ""
    now = utcnow()
    if cfg is None or not sender:
        r.last_error = "the sending email inbox is gone or has no SMTP server"
    else:
        letter = await build(session, r, r.next_run_at or now)
        letter["From"] = sender
        letter["To"] = ", ".join(schedule["recipients"])
        letter["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
        errors = []
        for to in schedule["recipients"]:
            try:
                await transmit(cfg, letter, sender, to)
            except Exception as exc:  # one refused recipient does not stop the others
                errors.append(f"{to}: {describe_smtp_error(exc)[0]}")
        r.last_error = "; ".join(errors)[:500] or None
        r.last_sent_at = now
    zone = await analytics.workspace_zone(session, r.workspace_id)
    r.next_run_at = next_run(schedule["every"], int(schedule["hour"]), zone, now)
    await enqueue(
        session, MAIL_JOB, {"saved_report_id": r.id, "due": iso(r.next_run_at)},
        run_at=r.next_run_at, workspace_id=r.workspace_id, max_attempts=5,
    )  # fmt: skip
    await session.flush()
