"""Agent replies reaching WhatsApp, and what Meta reports about them afterwards."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select, update

from omniline import db
from omniline.auth.principal import Principal
from omniline.conversations import service
from omniline.jobs.models import Job, JobState
from omniline.kit.clock import utcnow
from tests.channels.whatsapp.fake_graph import FakeGraph
from tests.channels.whatsapp.helpers import (
    CUSTOMER,
    PNG,
    WaInbox,
    agent,
    conversation_of,
    deliver,
    incoming,
    message_row,
    run_jobs,
    status,
    statuses,
    text,
)
from tests.conftest import Demo


async def customer_wrote(client: httpx.AsyncClient, wa: WaInbox) -> int:
    await deliver(client, wa, incoming(text("wamid.IN1", "Hello, is my loan approved?")))
    return (await conversation_of(wa)).id


async def reply(client: httpx.AsyncClient, conv_id: int, body: str) -> dict[str, Any]:
    r = await client.post(
        f"/api/v1/conversations/{conv_id}/messages",
        json={"text": body},
        headers=await agent(client),
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


async def reply_with_meta(demo: Demo, conv_id: int, body: str, meta: dict[str, Any]) -> int:
    admin = Principal(
        demo.users["admin"],
        demo.workspace_id,
        "admin",
        "Alex Admin",
        "admin@demo.omniline",
        "en",
        None,
    )
    async with db.unit_of_work() as session:
        res = await service.do_reply(session, admin, conv_id, body, meta=meta)
        return res.message.id


async def deliver_job() -> Job:
    async with db.sessionmaker()() as session:
        jobs = await session.scalars(
            select(Job).where(Job.kind == "deliver_message").order_by(Job.id)
        )
        return list(jobs)[-1]


async def make_due() -> None:
    async with db.unit_of_work() as session:
        await session.execute(
            update(Job)
            .where(Job.state == JobState.pending.value)
            .values(run_at=utcnow() - timedelta(seconds=1))
        )


async def test_reply_inside_the_window_is_sent_then_delivered_and_read(
    client: httpx.AsyncClient, wa: WaInbox, graph: FakeGraph
) -> None:
    conv_id = await customer_wrote(client, wa)
    sent = await reply(client, conv_id, "Yes, <b>approved</b> & ready")
    assert sent["delivery_status"] == "queued"
    await run_jobs()

    (body,) = graph.sent
    assert body == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": CUSTOMER,
        "type": "text",
        "text": {"body": "Yes, <b>approved</b> & ready", "preview_url": False},
    }
    msg = await message_row(sent["id"])
    assert msg.delivery_status == "sent"
    assert msg.external_id and msg.external_id.startswith("wamid.")

    await deliver(client, wa, statuses(status(msg.external_id, "delivered")))
    assert (await message_row(msg.id)).delivery_status == "delivered"
    await deliver(client, wa, statuses(status(msg.external_id, "read")))
    assert (await message_row(msg.id)).delivery_status == "read"
    # A late "delivered" does not move it back.
    await deliver(client, wa, statuses(status(msg.external_id, "delivered")))
    assert (await message_row(msg.id)).delivery_status == "read"

    r = await client.get(f"/api/v1/conversations/{conv_id}/messages", headers=await agent(client))
    assert r.json()["items"][-1]["delivery_status"] == "read"


async def test_failed_status_tells_the_agent_why(
    client: httpx.AsyncClient, wa: WaInbox, graph: FakeGraph
) -> None:
    conv_id = await customer_wrote(client, wa)
    sent = await reply(client, conv_id, "Please send your passport scan")
    await run_jobs()
    wamid = (await message_row(sent["id"])).external_id
    assert wamid
    error = {
        "code": 131026,
        "title": "Message undeliverable",
        "message": "Message undeliverable",
        "error_data": {"details": "The recipient's phone number is not a WhatsApp number."},
    }
    await deliver(client, wa, statuses(status(wamid, "failed", [error])))
    msg = await message_row(sent["id"])
    assert msg.delivery_status == "failed"
    assert msg.delivery_error is not None
    assert "Message undeliverable" in msg.delivery_error
    assert "not a WhatsApp number" in msg.delivery_error
    # A status for a message we never sent changes nothing and is still acknowledged.
    await deliver(client, wa, statuses(status("wamid.unknown", "read")))


async def test_three_buttons_become_reply_buttons_more_become_a_list(
    client: httpx.AsyncClient, wa: WaInbox, graph: FakeGraph, demo: Demo
) -> None:
    conv_id = await customer_wrote(client, wa)
    three = [{"text": t, "payload": f"p{i}"} for i, t in enumerate(["Pay now", "Later", "Call me"])]
    await reply_with_meta(demo, conv_id, "How would you like to pay?", {"buttons": three})
    five = [{"text": f"Loan option {i}", "payload": None} for i in range(5)]
    link = [{"text": "Our site", "url": "https://microlend.example/pay"}]
    await reply_with_meta(demo, conv_id, "Pick one", {"buttons": five + link})
    many = [{"text": f"Choice {i}"} for i in range(12)]
    await reply_with_meta(demo, conv_id, "So many", {"buttons": many})
    await run_jobs()

    buttons, listed, fallback = graph.sent
    assert buttons["type"] == "interactive"
    assert buttons["interactive"]["type"] == "button"
    assert [b["reply"] for b in buttons["interactive"]["action"]["buttons"]] == [
        {"id": "p0", "title": "Pay now"},
        {"id": "p1", "title": "Later"},
        {"id": "p2", "title": "Call me"},
    ]
    assert listed["interactive"]["type"] == "list"
    rows = listed["interactive"]["action"]["sections"][0]["rows"]
    assert [r["title"] for r in rows] == [f"Loan option {i}" for i in range(5)]
    assert "https://microlend.example/pay" in listed["interactive"]["body"]["text"]
    assert fallback["type"] == "text"
    assert "12. Choice 11" in fallback["text"]["body"]


async def test_a_file_is_uploaded_and_sent_with_the_text_as_caption(
    client: httpx.AsyncClient, wa: WaInbox, graph: FakeGraph
) -> None:
    conv_id = await customer_wrote(client, wa)
    r = await client.post(
        f"/api/v1/conversations/{conv_id}/attachments",
        files={"file": ("schedule.png", PNG, "image/png")},
        data={"text": "Your payment schedule"},
        headers=await agent(client),
    )
    assert r.status_code == 201, r.text
    await run_jobs()
    (upload,) = graph.calls_to("/media")
    assert upload.form == {"messaging_product": "whatsapp", "type": "image/png"}
    assert upload.files["file"][2] == PNG
    (body,) = graph.sent
    assert body["type"] == "image"
    assert body["image"]["caption"] == "Your payment schedule"
    assert graph.media[body["image"]["id"]][0] == PNG
    assert (await message_row(r.json()["id"])).delivery_status == "sent"


async def test_rate_limit_waits_and_then_sends(
    client: httpx.AsyncClient, wa: WaInbox, graph: FakeGraph
) -> None:
    conv_id = await customer_wrote(client, wa)
    graph.fail_next(
        400, 131056, "(#131056) (Business Account, Consumer Account) pair rate limit hit"
    )
    sent = await reply(client, conv_id, "One moment please")
    before = utcnow()
    await run_jobs()
    msg = await message_row(sent["id"])
    assert msg.delivery_status == "queued"  # still on its way
    assert msg.delivery_error is not None and msg.delivery_error.startswith("waiting 60 s")
    job = await deliver_job()
    assert job.state == JobState.pending.value
    assert job.payload["attempt"] == 2
    assert job.run_at >= before + timedelta(seconds=55)
    assert graph.sent == []

    await make_due()
    await run_jobs()
    assert len(graph.sent) == 1
    done = await message_row(sent["id"])
    assert done.delivery_status == "sent"
    assert done.delivery_error is None


async def test_http_429_uses_the_retry_after_header(
    client: httpx.AsyncClient, wa: WaInbox, graph: FakeGraph
) -> None:
    conv_id = await customer_wrote(client, wa)
    graph.fail_next(429, 130429, "Rate limit hit", headers={"Retry-After": "7"})
    sent = await reply(client, conv_id, "Hello again")
    await run_jobs()
    msg = await message_row(sent["id"])
    assert msg.delivery_error is not None and msg.delivery_error.startswith("waiting 7 s")


async def test_closed_window_and_expired_token_fail_for_good(
    client: httpx.AsyncClient, wa: WaInbox, graph: FakeGraph
) -> None:
    conv_id = await customer_wrote(client, wa)
    graph.fail_next(400, 131047, "Re-engagement message")
    first = await reply(client, conv_id, "Are you still there?")
    await run_jobs()
    msg = await message_row(first["id"])
    assert msg.delivery_status == "failed"
    assert "more than 24 hours" in (msg.delivery_error or "")
    assert (await deliver_job()).state == JobState.done.value  # not retried

    graph.token = "a-new-token-the-inbox-does-not-know"
    second = await reply(client, conv_id, "Hello?")
    await run_jobs()
    msg = await message_row(second["id"])
    assert msg.delivery_status == "failed"
    assert msg.delivery_error == "the access token is invalid or expired"
    assert (await deliver_job()).state == JobState.done.value


async def test_meta_server_errors_are_retried(
    client: httpx.AsyncClient, wa: WaInbox, graph: FakeGraph
) -> None:
    conv_id = await customer_wrote(client, wa)
    graph.fail_next(500, 131000, "Something went wrong")
    sent = await reply(client, conv_id, "Thanks for waiting")
    await run_jobs()
    msg = await message_row(sent["id"])
    assert msg.delivery_status == "retrying"
    assert "Something went wrong" in (msg.delivery_error or "")
    assert (await deliver_job()).state == JobState.pending.value
    await make_due()
    await run_jobs()
    assert (await message_row(sent["id"])).delivery_status == "sent"
