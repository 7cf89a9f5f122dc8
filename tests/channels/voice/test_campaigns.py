"""Outbound call campaigns against the PBX simulator: a payment reminder played by a flow,
the results per customer, retries, dialling hours, and agent-paced (progressive) dialling."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select

from omniline import db
from omniline.channels.voice.models import VoiceCall, VoiceCampaignContact
from tests.bots.support import admin, publish
from tests.channels.voice.support import (
    AGENT_PHONE,
    Line,
    conversation,
    event_types,
    eventually,
    running_line,
)
from tests.conftest import Demo, bearer, staff_token

PAID, LATER, BUSY = "+380501110001", "+380501110002", "+380501110003"
TOKYO = "+81312345678"  # Asia/Tokyo: six or seven hours ahead of Kyiv


@pytest.fixture
async def line(demo: Demo) -> AsyncIterator[Line]:
    async for running in running_line(demo):
        yield running


def reminder_flow() -> dict[str, Any]:
    return {
        "languages": ["en"],
        "fallback_language": "en",
        "start": "remind",
        "nodes": [
            {
                "id": "remind",
                "type": "menu",
                "text": {"en": "Your payment of {{campaign.amount}} is due."},
                "options": [
                    {"label": {"en": "Confirm"}, "next": "confirmed"},
                    {"label": {"en": "Reschedule"}, "next": "reschedule"},
                ],
            },
            {"id": "confirmed", "type": "set", "name": "result", "value": "confirmed",
             "next": "thanks"},
            {"id": "reschedule", "type": "set", "name": "result", "value": "reschedule",
             "next": "later"},
            {"id": "thanks", "type": "end", "text": {"en": "Thank you!"}},
            {"id": "later", "type": "end", "text": {"en": "We will call you about a new date."}},
        ],
    }  # fmt: skip


def kyiv_hours(before: float = 1.0, after: float = 1.0) -> str:
    """Dialling hours around now in Kyiv (an end before the start spans midnight)."""
    now = datetime.now(ZoneInfo("Europe/Kyiv"))
    start, end = now - timedelta(hours=before), now + timedelta(hours=after)
    return f"{start:%H:%M}-{end:%H:%M}"


async def _campaign(client: httpx.AsyncClient, h: dict[str, str], **body: Any) -> int:
    r = await client.post("/api/v1/voice/campaigns", json=body, headers=h)
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


async def rows(campaign_id: int) -> dict[str, VoiceCampaignContact]:
    async with db.sessionmaker()() as session:
        found = await session.scalars(
            select(VoiceCampaignContact).where(VoiceCampaignContact.campaign_id == campaign_id)
        )
        return {r.number: r for r in found}


async def _settled(campaign_id: int, numbers: list[str]) -> dict[str, VoiceCampaignContact]:
    got = await rows(campaign_id)
    return got if all(got[n].status in ("done", "failed") for n in numbers) else {}


async def _call(call_id: int | None) -> VoiceCall:
    async with db.sessionmaker()() as session:
        call = await session.get(VoiceCall, call_id or 0)
        assert call is not None
        return call


async def test_payment_reminder_by_the_bot(
    client: httpx.AsyncClient, line: Line, demo: Demo
) -> None:
    h = await admin(client)
    flow_id = await publish(client, h, reminder_flow(), key="reminder", secret=None)
    campaign_id = await _campaign(
        client, h, inbox_id=line.inbox_id, name="May payments", flow_id=flow_id,
        hours=kyiv_hours(), max_attempts=2, retry_after_s=1, max_concurrent=5,
    )  # fmt: skip
    r = await client.post(
        f"/api/v1/voice/campaigns/{campaign_id}/contacts",
        json={"contacts": [
            {"number": PAID, "name": "Ivan", "variables": {"amount": "1500 hryvnias"}},
            {"number": "050 111 0002", "variables": {"amount": "900 hryvnias"}},
            {"number": BUSY},
            {"number": TOKYO},
            {"number": "call me maybe"},
            {"number": PAID},
        ]},
        headers=h,
    )  # fmt: skip
    assert r.status_code == 200, r.text
    assert r.json()["added"] == 4
    assert r.json()["rejected"] == [
        {"row": 5, "number": "call me maybe", "reason": "not a phone number"},
        {"row": 6, "number": PAID, "reason": "already in the campaign"},
    ]
    menu_then = [{"wait_playbacks": 1}]
    await line.number(PAID, answer_after_s=0.1, script=[*menu_then, {"press": "1"}])
    await line.number(LATER, answer_after_s=0.1, script=[*menu_then, {"press": "2"}])
    await line.number(BUSY, busy=True)
    r = await client.post(f"/api/v1/voice/campaigns/{campaign_id}/start", headers=h)
    assert r.status_code == 200 and r.json()["status"] == "running", r.text

    got = await eventually(
        lambda: _settled(campaign_id, [PAID, LATER, BUSY]), timeout=20, what="the results"
    )
    paid, later, busy = got[PAID], got[LATER], got[BUSY]
    assert (paid.status, paid.result, paid.attempts) == ("done", "confirmed", 1)
    assert paid.variables == {"result": "confirmed"}
    assert (later.status, later.result) == ("done", "reschedule")
    assert (busy.status, busy.result, busy.attempts) == ("failed", "busy", 2)
    assert busy.last_call_id is None
    # Outside the customer's dialling hours: not dialled, waiting for the hours to open.
    tokyo = got[TOKYO]
    assert (tokyo.status, tokyo.attempts, tokyo.timezone) == ("pending", 0, "Asia/Tokyo")
    assert tokyo.next_attempt_at > datetime.now(UTC)
    state = await line.state()
    dialled = [c["endpoint"] for c in state["channels"] + state["history"]]
    assert not any(TOKYO in e for e in dialled) and sum(BUSY in e for e in dialled) == 2

    # Each answered call is an outbound call and a conversation in the contact's history.
    call = await _call(paid.last_call_id)
    assert call.direction == "out" and call.caller == PAID and call.end_reason == "ivr"
    heard = " | ".join(unquote(u) for u in await line.played(call.ref))
    assert "Your payment of 1500 hryvnias is due." in heard
    assert "For Confirm, press 1." in heard and "For Reschedule, press 2." in heard
    assert "Thank you!" in heard
    conv = await conversation(call.conversation_id)
    assert conv.contact_id == paid.contact_id and conv.status == "resolved"
    assert "campaign_call" in await event_types(conv.id)

    r = await client.get(f"/api/v1/voice/campaigns/{campaign_id}", headers=h)
    progress = r.json()["progress"]
    assert (progress["done"], progress["failed"], progress["pending"]) == (2, 1, 1)
    assert progress["results"] == {"confirmed": 1, "reschedule": 1, "busy": 1}

    r = await client.get(f"/api/v1/voice/campaigns/{campaign_id}/results.csv", headers=h)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    table = {row["number"]: row for row in csv.DictReader(io.StringIO(r.text))}
    assert table[PAID]["result"] == "confirmed" and table[PAID]["name"] == "Ivan"
    assert table[LATER]["result"] == "reschedule" and table[BUSY]["status"] == "failed"
    assert table[TOKYO]["status"] == "pending" and table[TOKYO]["result"] == ""


async def test_agent_mode_dials_one_customer_per_free_agent(
    client: httpx.AsyncClient, line: Line, demo: Demo
) -> None:
    """One free agent in the queue: one customer at a time, connected to that agent."""
    h = await admin(client)
    await line.phone(AGENT_PHONE, answer_after_s=0.1)
    numbers = ["+380502220001", "+380502220002", "+380502220003"]
    for number in numbers:
        await line.number(number, answer_after_s=0.1, talk_s=0.4)
    campaign_id = await _campaign(
        client, h, inbox_id=line.inbox_id, name="Offer", mode="agent",
        queue_id=demo.queues["First line"], hours=kyiv_hours(),
    )  # fmt: skip
    r = await client.post(
        f"/api/v1/voice/campaigns/{campaign_id}/contacts",
        json={"contacts": [{"number": n} for n in numbers]},
        headers=h,
    )
    assert r.json()["added"] == 3, r.text
    r = await client.post(f"/api/v1/voice/campaigns/{campaign_id}/start", headers=h)
    assert r.status_code == 200, r.text

    most_at_once, bridged = 0, False
    deadline = asyncio.get_running_loop().time() + 30
    while not await _settled(campaign_id, numbers):
        assert asyncio.get_running_loop().time() < deadline, await rows(campaign_id)
        now = await rows(campaign_id)
        most_at_once = max(most_at_once, sum(r.status == "dialing" for r in now.values()))
        for row in now.values():
            if row.status == "dialing" and row.last_call_id and not bridged:
                bridged = await line.bridged((await _call(row.last_call_id)).ref)
        await asyncio.sleep(0.05)
    assert most_at_once == 1 and bridged
    for row in (await rows(campaign_id)).values():
        assert (row.status, row.result, row.attempts) == ("done", "connected", 1)
        call = await _call(row.last_call_id)
        assert call.agent_id == demo.users["agent"] and call.direction == "out"
        assert call.priority == 10 and call.answered_at is not None
    item = await eventually(lambda: _campaign_done(client, h, campaign_id), what="done")
    assert item["progress"]["done"] == 3 and item["finished_at"] is not None


async def _campaign_done(
    client: httpx.AsyncClient, h: dict[str, str], campaign_id: int
) -> dict[str, Any] | None:
    r = await client.get("/api/v1/voice/campaigns", headers=h)
    (item,) = [c for c in r.json()["items"] if c["id"] == campaign_id]
    return dict(item) if item["status"] == "done" else None


async def test_campaign_api_checks(client: httpx.AsyncClient, line: Line, demo: Demo) -> None:
    from tests.auth.test_access import make_other_workspace

    h = await admin(client)
    agent = bearer(await staff_token(client, "agent@demo.omniline", "demo-agent"))
    base = {"inbox_id": line.inbox_id, "name": "Reminders"}
    r = await client.post("/api/v1/voice/campaigns", json=base | {"mode": "agent"}, headers=agent)
    assert r.status_code == 403
    assert (await client.get("/api/v1/voice/campaigns", headers=agent)).status_code == 403
    for bad, field, status in (
        ({}, "flow_id", 422),  # a bot campaign needs a flow
        ({"mode": "agent", "hours": "25:00-20:00"}, "hours", 422),
        ({"mode": "agent", "hours": "09:00-09:00"}, "hours", 422),
        ({"mode": "agent", "inbox_id": demo.inbox_id}, "inbox_id", 404),  # the chat widget
        ({"mode": "agent", "queue_id": 999999}, "queue_id", 404),
        ({"flow_id": 999999}, "flow_id", 404),
    ):
        r = await client.post("/api/v1/voice/campaigns", json=base | bad, headers=h)
        assert r.status_code == status, (bad, r.text)
        assert r.json()["error"]["fields"][0]["field"] == field, r.text
    campaign_id = await _campaign(client, h, **base, mode="agent")
    r = await client.post(f"/api/v1/voice/campaigns/{campaign_id}/start", headers=h)
    assert r.status_code == 409  # nobody to call yet
    csv_body = "number,name,amount\n+380503330001,Olha,700\nnonsense,Bad,1\n0503330002,,800\n"
    r = await client.post(
        f"/api/v1/voice/campaigns/{campaign_id}/contacts.csv",
        content=csv_body.encode(),
        headers=h | {"Content-Type": "text/csv"},
    )
    assert r.status_code == 200, r.text
    assert r.json() == {
        "added": 2,
        "rejected": [{"row": 3, "number": "nonsense", "reason": "not a phone number"}],
    }
    r = await client.get(f"/api/v1/voice/campaigns/{campaign_id}/contacts", headers=h)
    items = {i["number"]: i for i in r.json()["items"]}
    assert items["+380503330001"]["data"] == {"amount": "700"}
    assert (
        items["+380503330001"]["name"] == "Olha" and items["+380503330002"]["status"] == "pending"
    )
    assert items["+380503330001"]["timezone"] == "Europe/Kyiv"
    # Another workspace sees none of it.
    await make_other_workspace()
    other = bearer(await staff_token(client, "admin@other.example", "other-admin-pw"))
    assert (
        await client.get(f"/api/v1/voice/campaigns/{campaign_id}", headers=other)
    ).status_code == 404
    r = await client.post(
        f"/api/v1/voice/campaigns/{campaign_id}/contacts",
        json={"contacts": [{"number": "+380503330009"}]},
        headers=other,
    )
    assert r.status_code == 404
    r = await client.post("/api/v1/voice/campaigns", json=base | {"mode": "agent"}, headers=other)
    assert r.status_code == 404  # not their inbox
    assert r.json()["error"]["fields"][0]["field"] == "inbox_id"


def test_dialling_hours() -> None:
    from omniline.channels.voice.campaigns import window_opening

    at = datetime(2026, 6, 1, 5, 0, tzinfo=UTC)  # 08:00 in Kyiv (summer, UTC+3)
    assert window_opening(at, "Europe/Kyiv", "09:00-20:00") == at + timedelta(hours=1)
    assert window_opening(at, "Europe/Kyiv", "07:00-20:00") == at
    # Overnight hours; and a time after the end waits for the next day.
    assert window_opening(at, "Europe/Kyiv", "22:00-09:00") == at
    late = datetime(2026, 6, 1, 18, 0, tzinfo=UTC)  # 21:00 in Kyiv
    assert window_opening(late, "Europe/Kyiv", "09:00-20:00") == datetime(
        2026, 6, 2, 6, 0, tzinfo=UTC
    )


async def test_a_dial_in_flight_at_a_restart_is_counted_and_retried(
    client: httpx.AsyncClient, line: Line
) -> None:
    from omniline.channels.voice import link

    h = await admin(client)
    flow_id = await publish(client, h, reminder_flow(), key="reminder", secret=None)
    await line.number(PAID, answer_after_s=None)  # rings on and on
    campaign_id = await _campaign(
        client, h, inbox_id=line.inbox_id, name="Restart", flow_id=flow_id,
        hours=kyiv_hours(), max_attempts=3, retry_after_s=1,
    )  # fmt: skip
    r = await client.post(
        f"/api/v1/voice/campaigns/{campaign_id}/contacts",
        json={"contacts": [{"number": PAID, "variables": {"amount": "10"}}]},
        headers=h,
    )
    assert r.json()["added"] == 1
    await client.post(f"/api/v1/voice/campaigns/{campaign_id}/start", headers=h)
    await eventually(lambda: _status(campaign_id, PAID, "dialing"), what="dialling")
    await link.stop(line.inbox_id)
    await line.number(PAID, answer_after_s=0.1, script=[{"wait_playbacks": 1}, {"press": "1"}])
    await link.start(line.inbox_id)
    row = await eventually(lambda: _status(campaign_id, PAID, "done"), timeout=15, what="done")
    assert (row.result, row.attempts) == ("confirmed", 2)


async def _status(campaign_id: int, number: str, status: str) -> VoiceCampaignContact | None:
    row = (await rows(campaign_id))[number]
    return row if row.status == status else None


async def test_whole_numbers_as_2_0_and_a_missing_default_queue(
    client: httpx.AsyncClient, line: Line, demo: Demo
) -> None:
    """Counts written as 2.0 were refused, and an agent campaign on an inbox without a
    default queue answered 422, though the schema called both valid (schemathesis ST202)."""
    from sqlalchemy import update

    from omniline.inboxes.models import Inbox

    h = await admin(client)
    base = {"inbox_id": line.inbox_id, "name": "Reminders", "mode": "agent"}
    counts = {"max_attempts": 2.0, "retry_after_s": 600.0, "max_concurrent": 3.0}
    r = await client.post("/api/v1/voice/campaigns", json=base | counts, headers=h)
    assert r.status_code == 201, r.text
    r = await client.post("/api/v1/voice/campaigns", json=base | {"max_attempts": 2.5}, headers=h)
    assert r.status_code == 422, r.text
    r = await client.put(
        f"/api/v1/voice/queues/{demo.queues['First line']}",
        json={"ring_timeout_s": 30.0, "overflow_after_s": 60.0, "announce_every_s": None},
        headers=h,
    )
    assert r.status_code == 200, r.text
    assert (r.json()["ring_timeout_s"], r.json()["overflow_after_s"]) == (30, 60)
    async with db.unit_of_work() as session:
        await session.execute(
            update(Inbox).where(Inbox.id == line.inbox_id).values(default_queue_id=None)
        )
    r = await client.post("/api/v1/voice/campaigns", json=base, headers=h)
    assert r.status_code == 409, r.text
    assert r.json()["error"]["fields"][0]["field"] == "queue_id"


async def test_a_draft_is_changed_and_a_started_campaign_is_not(
    client: httpx.AsyncClient, line: Line, demo: Demo
) -> None:
    """PUT replaces a draft's settings with the same checks as creation; once started the
    campaign keeps them (409); agents and other workspaces may not change it."""
    from tests.auth.test_access import make_other_workspace

    h = await admin(client)
    base = {"inbox_id": line.inbox_id, "name": "Reminders", "mode": "agent"}
    campaign_id = await _campaign(client, h, **base)
    url = f"/api/v1/voice/campaigns/{campaign_id}"
    r = await client.put(url, json=base | {"hours": "10:00-10:00"}, headers=h)
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "hours", r.text
    r = await client.put(url, json=base | {"queue_id": 999999}, headers=h)
    assert r.status_code == 404 and r.json()["error"]["fields"][0]["field"] == "queue_id"
    assert (await client.get(url, headers=h)).json()["hours"] == "09:00-20:00"  # unchanged
    changed = base | {"name": "  June calls ", "hours": "21:00-02:00", "max_attempts": 5}
    r = await client.put(url, json=changed, headers=h)
    assert r.status_code == 200, r.text
    got = (await client.get(url, headers=h)).json()
    assert (got["name"], got["hours"], got["max_attempts"], got["status"]) == (
        "June calls",
        "21:00-02:00",
        5,
        "draft",
    )
    agent = bearer(await staff_token(client, "agent@demo.omniline", "demo-agent"))
    assert (await client.put(url, json=base, headers=agent)).status_code == 403
    await make_other_workspace()
    other = bearer(await staff_token(client, "admin@other.example", "other-admin-pw"))
    assert (await client.put(url, json=base, headers=other)).status_code == 404

    r = await client.post(
        f"{url}/contacts", json={"contacts": [{"number": "+380503330001"}]}, headers=h
    )
    assert r.status_code == 200, r.text
    assert (await client.post(f"{url}/start", headers=h)).status_code == 200
    r = await client.put(url, json=base | {"name": "Too late"}, headers=h)
    assert r.status_code == 409, r.text
    assert (await client.get(url, headers=h)).json()["name"] == "June calls"
