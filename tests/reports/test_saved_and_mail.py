"""Saved report definitions (who sees and changes which), and a scheduled report mailed
through a real local SMTP server with the XLSX attached."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import httpx
import openpyxl
from sqlalchemy import select, update

from omniline import db
from omniline.inboxes import service as inboxes
from omniline.inboxes.models import Inbox
from omniline.jobs.models import Job
from omniline.reports.models import SavedReport
from omniline.reports.schedule import next_run, period_of
from tests.analytics.log import Log
from tests.channels.email.conftest import SmtpSink, smtp_server
from tests.conftest import bearer, staff_token
from tests.presence.helpers import run_jobs

__all__ = ["smtp_server"]


async def headers(client: httpx.AsyncClient, who: str) -> dict[str, str]:
    password = "demo-agent" if who.startswith("agent") else f"demo-{who}"
    return bearer(await staff_token(client, f"{who}@demo.omniline", password))


def test_next_run_in_local_time_across_daylight_saving() -> None:
    after = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)  # Saturday; Berlin is +01:00
    # Daily at 08:00 Berlin: Sunday 29 March is already +02:00 -> 06:00 UTC.
    assert next_run("daily", 8, "Europe/Berlin", after) == datetime(2026, 3, 29, 6, tzinfo=UTC)
    assert next_run("weekly", 8, "Europe/Berlin", after) == datetime(2026, 3, 30, 6, tzinfo=UTC)
    assert next_run("monthly", 8, "Europe/Berlin", after) == datetime(2026, 4, 1, 6, tzinfo=UTC)
    same_day = datetime(2026, 3, 30, 5, 59, tzinfo=UTC)
    assert next_run("daily", 8, "Europe/Berlin", same_day) == datetime(2026, 3, 30, 6, tzinfo=UTC)


def test_periods_of_presets() -> None:
    d = datetime(2026, 3, 1).date()
    assert period_of("yesterday", d) == (datetime(2026, 2, 28).date(),) * 2
    assert period_of("last_month", d) == (datetime(2026, 2, 1).date(), datetime(2026, 2, 28).date())
    assert period_of("last7", d) == (datetime(2026, 2, 23).date(), d)


async def test_saved_reports_personal_shared_and_refused(
    client: httpx.AsyncClient, log: Log
) -> None:
    sup = await headers(client, "supervisor")
    body = {"name": "Voice week", "preset": "last7", "by": "day", "dimension": "queue",
            "filters": {"channel": "voice"}}  # fmt: skip
    r = await client.post("/api/v1/reports/saved", json=body, headers=sup)
    assert r.status_code == 201, r.text
    mine = r.json()
    assert mine["filters"] == {"channel": "voice"} and mine["shared"] is False
    r = await client.post(
        "/api/v1/reports/saved", json={**body, "name": "Team", "shared": True}, headers=sup
    )
    shared = r.json()
    admin = await headers(client, "admin")
    names = [
        i["name"]
        for i in (await client.get("/api/v1/reports/saved", headers=admin)).json()["items"]
    ]
    assert names == ["Team"]  # the supervisor's personal one is theirs only
    assert (
        await client.get(f"/api/v1/reports/saved/{mine['id']}", headers=admin)
    ).status_code == 404
    # The admin may change a shared one, not delete someone's personal one.
    r = await client.put(
        f"/api/v1/reports/saved/{shared['id']}", json={**body, "name": "Team 2", "shared": True},
        headers=admin,
    )  # fmt: skip
    assert r.status_code == 200 and r.json()["name"] == "Team 2"
    agent = await headers(client, "agent")
    assert (await client.get("/api/v1/reports/saved", headers=agent)).status_code == 403
    for bad in ({**body, "preset": "forever"}, {**body, "name": ""},
                {**body, "filters": {"queue_id": 0}}, {**body, "extra": 1}):  # fmt: skip
        r = await client.post("/api/v1/reports/saved", json=bad, headers=sup)
        assert r.status_code == 422, bad
    r = await client.post(
        "/api/v1/reports/saved",
        json={**body, "schedule": {"every": "daily", "hour": 8, "recipients": ["a@b.test"],
                                    "inbox_id": log.chat_inbox}},
        headers=sup,
    )  # fmt: skip
    # A chat inbox cannot send mail: the request is right, the inbox it names is not (409).
    assert r.status_code == 409
    assert r.json()["error"]["fields"][0]["field"] == "schedule.inbox_id"
    r = await client.post(
        "/api/v1/reports/saved",
        json={**body, "schedule": {"every": "daily", "hour": 8, "recipients": ["a@b.test"],
                                    "inbox_id": 424242}},
        headers=sup,
    )  # fmt: skip
    assert r.status_code == 404
    assert r.json()["error"]["fields"][0]["field"] == "schedule.inbox_id"
    assert (
        await client.delete(f"/api/v1/reports/saved/{mine['id']}", headers=sup)
    ).status_code == 204
    assert (await client.get(f"/api/v1/reports/saved/{mine['id']}", headers=sup)).status_code == 404


async def test_a_scheduled_report_is_mailed_with_the_xlsx(
    client: httpx.AsyncClient, log: Log, smtp_server: SmtpSink
) -> None:
    async with db.unit_of_work() as session:
        mailbox = await inboxes.do_create_inbox(
            session, log.workspace_id, channel="email", name="Reports mailbox", key="reports-mail",
            settings={"address": "reports@microlend.test", "smtp_host": smtp_server.host,
                      "smtp_port": smtp_server.port, "smtp_security": "none"},
        )  # fmt: skip
        mailbox_id = mailbox.id
    sup = await headers(client, "supervisor")
    body = {"name": "Daily voice", "preset": "last7", "by": "day", "filters": {"channel": "voice"},
            "schedule": {"every": "daily", "hour": 8, "inbox_id": mailbox_id,
                         "recipients": ["boss@microlend.test", "qa@microlend.test"]}}  # fmt: skip
    r = await client.post("/api/v1/reports/saved", json=body, headers=sup)
    assert r.status_code == 201, r.text
    report = r.json()
    assert report["next_run_at"] is not None
    # Pretend the run is due now, for the week of the log (run on 1 April: 26 March - 1 April).
    due = datetime(2026, 4, 1, 6, tzinfo=UTC)
    async with db.unit_of_work() as session:
        await session.execute(
            update(SavedReport).where(SavedReport.id == report["id"]).values(next_run_at=due)
        )
        await session.execute(
            update(Job)
            .where(Job.kind == "report_mail")
            .values(
                run_at=due, payload={"saved_report_id": report["id"], "due": "2026-04-01T06:00:00Z"}
            )
        )
    await run_jobs()
    assert sorted(to for letter in smtp_server.letters for to in letter.rcpt_tos) == [
        "boss@microlend.test", "qa@microlend.test",
    ]  # fmt: skip
    letter = smtp_server.letters[0].message
    assert letter["Subject"] == "Daily voice: 2026-03-26 - 2026-04-01"
    assert letter["From"] == "reports@microlend.test"
    parts = list(letter.walk())
    text = next(p for p in parts if p.get_content_type() == "text/plain").get_payload(decode=True)
    assert b"Offered: 4" in text and b"Service level: 33.3 %" in text
    xlsx = next(p for p in parts if p.get_filename() == "report-2026-03-26-2026-04-01.xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.get_payload(decode=True))).active
    assert sheet is not None
    rows = {r[0]: r for r in sheet.iter_rows(values_only=True)}
    header = rows["period"]
    assert rows["total"][header.index("offered")] == 4
    async with db.sessionmaker()() as session:
        saved = await session.scalar(select(SavedReport).where(SavedReport.id == report["id"]))
        assert saved is not None and saved.last_error is None and saved.last_sent_at is not None
        assert saved.next_run_at is not None and saved.next_run_at > due
        pending = list(await session.scalars(select(Job).where(Job.kind == "report_mail")))
        # The next run is queued; the one that ran is done.
        assert any(j.payload["due"] != "2026-04-01T06:00:00Z" for j in pending)


async def test_a_mailbox_that_cannot_send_is_a_conflict_and_hours_may_be_written_as_2_0(
    client: httpx.AsyncClient, log: Log
) -> None:
    """A mailbox without SMTP answered 422, and an hour of 8.0 was refused, though the schema
    called both requests valid (schemathesis ST202): 409 for the stored mailbox, and 8.0 is
    the whole number 8."""
    async with db.unit_of_work() as session:
        mailbox = await inboxes.do_create_inbox(
            session, log.workspace_id, channel="email", name="No SMTP", key="no-smtp",
            settings={"address": "nosmtp@microlend.test"},
        )  # fmt: skip
        mailbox_id = mailbox.id
    sup = await headers(client, "supervisor")
    schedule = {"every": "daily", "hour": 8.0, "inbox_id": mailbox_id, "recipients": ["a@b.test"]}
    body = {"name": "Daily", "schedule": schedule}
    r = await client.post("/api/v1/reports/saved", json=body, headers=sup)
    assert r.status_code == 409, r.text
    (field,) = r.json()["error"]["fields"]
    assert field["field"] == "schedule.inbox_id" and "no SMTP server" in field["message"]
    async with db.unit_of_work() as session:
        await session.execute(
            update(Inbox)
            .where(Inbox.id == mailbox_id)
            .values(settings={"address": "nosmtp@microlend.test", "smtp_host": "127.0.0.1"})
        )
    r = await client.post("/api/v1/reports/saved", json=body, headers=sup)
    assert r.status_code == 201, r.text
    assert r.json()["schedule"]["hour"] == 8
    for hour in (8.5, "8", True):
        r = await client.post(
            "/api/v1/reports/saved", json={**body, "schedule": {**schedule, "hour": hour}},
            headers=sup,
        )  # fmt: skip
        assert r.status_code == 422, (hour, r.text)
