"""Outgoing webhooks end to end: a real receiver on a local port checks every signature."""

from __future__ import annotations

import httpx
import pytest

from omniline import db
from omniline.auth.principal import Principal
from omniline.conversations import service as conversations
from omniline.conversations.inbound import InboundMessage
from omniline.conversations.service import receive_inbound
from omniline.webhooks import service as webhooks
from omniline.webhooks.jobs import encode
from omniline.webhooks.models import DeliveryStatus
from tests.conftest import Demo, free_port
from tests.webhooks.conftest import Receiver
from tests.webhooks.helpers import (
    AGENT,
    customer_writes,
    deliveries,
    drain,
    login,
    run_due_now,
    subscribe,
    webhook_jobs,
)


async def test_a_reply_reaches_the_lender_signed_and_enriched(
    client: httpx.AsyncClient, demo: Demo, receiver: Receiver
) -> None:
    admin = await login(client)
    sub = await subscribe(client, admin, receiver.url, description="CRM")
    receiver.secret = sub["secret"]
    assert sub["secret"].startswith("whsec_")
    conv_id = await customer_writes(client, "My card is blocked")
    agent = await login(client, AGENT)
    r = await client.post(
        f"/api/v1/conversations/{conv_id}/messages", json={"text": "Let me check"}, headers=agent
    )
    assert r.status_code == 201
    await drain()

    # The customer's own message was delivered too; pick the agent's reply.
    (got,) = [
        g
        for g in receiver.of_type("message.created")
        if g.body["data"].get("message_id") == r.json()["id"]
    ]
    assert got.signature_ok
    body = got.body
    assert body["id"] == got.headers["x-omniline-delivery"]
    assert body["type"] == "message.created"
    assert body["workspace_id"] == demo.workspace_id
    assert body["occurred_at"].endswith("Z")
    assert body["data"]["conversation_id"] == conv_id
    assert body["data"]["message"]["text"] == "Let me check"
    assert body["data"]["conversation"]["id"] == conv_id
    assert body["data"]["conversation"]["queue"]["name"] == "First line"
    r = await client.post(
        f"/api/v1/conversations/{conv_id}/assign",
        json={"assignee_id": demo.users["agent2"]},
        headers=admin,
    )
    assert r.status_code == 200, r.text
    await drain()
    # The agent's reply assigned it first; the admin's reassignment is the last one.
    assigned = receiver.of_type("conversation.assigned")[-1]
    assert assigned.signature_ok
    assert assigned.body["data"]["assignee_id"] == demo.users["agent2"]
    assert assigned.body["data"]["conversation"]["assignee"]["name"] == "Boris Agent"

    log = await client.get(f"/api/v1/webhooks/{sub['id']}/deliveries", headers=admin)
    assert log.status_code == 200
    items = log.json()["items"]
    assert {i["status"] for i in items} == {"delivered"}
    assert all(i["last_status_code"] == 200 and i["attempts"] == 1 for i in items)
    assert all(i["attempt_log"][0]["duration_ms"] >= 0 for i in items)


async def test_a_batch_of_first_contacts_is_delivered_one_event_each(
    client: httpx.AsyncClient, demo: Demo, receiver: Receiver
) -> None:
    """Concurrent first messages are stored in one batch; each event still reaches the
    receiver once, with its own conversation and message."""
    admin = await login(client)
    sub = await subscribe(
        client, admin, receiver.url, event_types=["conversation.created", "message.created"]
    )
    receiver.secret = sub["secret"]
    async with db.unit_of_work() as session:
        received = await receive_inbound(
            session,
            [
                InboundMessage(
                    workspace_id=demo.workspace_id,
                    inbox_id=demo.inbox_id,
                    text=f"First words of {i}",
                    sender_address=f"first-{i}",
                )
                for i in range(3)
            ],
        )
    await drain()
    sent = {r.message.conversation_id: r.message for r in received}
    created = receiver.of_type("conversation.created")
    assert sorted(g.body["data"]["conversation"]["id"] for g in created) == sorted(sent)
    messages = receiver.of_type("message.created")
    assert len(messages) == 3
    for got in messages:
        assert got.signature_ok
        data = got.body["data"]
        msg = sent[data["conversation_id"]]
        assert data["message"]["id"] == msg.id
        assert data["message"]["text"] == msg.text
        assert data["conversation"]["id"] == data["conversation_id"]
        assert data["conversation"]["last_message"]["text"] == msg.text


async def test_a_500_is_retried_with_the_same_delivery_id(
    client: httpx.AsyncClient, demo: Demo, receiver: Receiver
) -> None:
    admin = await login(client)
    sub = await subscribe(client, admin, receiver.url, event_types=["conversation.resolved"])
    receiver.secret = sub["secret"]
    receiver.script = [500]
    conv_id = await customer_writes(client)
    r = await client.post(f"/api/v1/conversations/{conv_id}/resolve", headers=admin)
    assert r.status_code == 200

    assert await run_due_now() >= 1
    (first,) = await deliveries()
    assert first.status == DeliveryStatus.pending.value
    assert first.attempts == 1 and first.last_status_code == 500
    assert "HTTP 500" in (first.last_error or "")
    assert first.next_attempt_at is not None  # backing off, not hammering

    await drain()
    (done,) = await deliveries()
    assert done.status == DeliveryStatus.delivered.value and done.attempts == 2
    assert len(receiver.got) == 2
    ids = {g.headers["x-omniline-delivery"] for g in receiver.got}
    assert ids == {done.uuid}
    assert receiver.got[0].raw == receiver.got[1].raw == encode(done.body)
    assert receiver.processed == [done.uuid]  # the lender acted once

    log = (await client.get(f"/api/v1/webhooks/{sub['id']}/deliveries", headers=admin)).json()
    codes = [a["status_code"] for a in log["items"][0]["attempt_log"]]
    assert codes == [500, 200]


async def test_a_duplicate_arrival_is_acted_on_once(
    client: httpx.AsyncClient, demo: Demo, receiver: Receiver
) -> None:
    """The lender got the event but its answer was lost (a 502 from its proxy): the retry
    carries the same id, so the lender does not pay the compensation twice."""
    admin = await login(client)
    sub = await subscribe(client, admin, receiver.url, event_types=["conversation.resolved"])
    receiver.secret = sub["secret"]
    conv_id = await customer_writes(client)
    await client.post(f"/api/v1/conversations/{conv_id}/resolve", headers=admin)
    await drain()
    (d,) = await deliveries()
    # A person retries a delivered one by hand? Refused: only failed ones go again.
    r = await client.post(f"/api/v1/webhooks/deliveries/{d.id}/retry", headers=admin)
    assert r.status_code == 409
    assert receiver.processed == [d.uuid]


async def test_gives_up_after_the_last_attempt_and_a_person_retries(
    client: httpx.AsyncClient, demo: Demo, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(webhooks, "MAX_ATTEMPTS", 3)
    admin = await login(client)
    sub = await subscribe(client, admin, receiver.url, event_types=["conversation.resolved"])
    receiver.secret = sub["secret"]
    receiver.script = [503, 503, 503]
    conv_id = await customer_writes(client)
    await client.post(f"/api/v1/conversations/{conv_id}/resolve", headers=admin)
    await drain()
    (d,) = await deliveries()
    assert d.status == DeliveryStatus.failed.value and d.attempts == 3
    assert d.finished_at is not None and d.next_attempt_at is None

    r = await client.post(f"/api/v1/webhooks/deliveries/{d.id}/retry", headers=admin)
    assert r.status_code == 202, r.text
    assert r.json()["status"] == "pending"
    await drain()
    (d,) = await deliveries()
    assert d.status == DeliveryStatus.delivered.value and d.attempts == 4
    assert receiver.processed == [d.uuid]


async def test_an_unreachable_receiver_is_logged(
    client: httpx.AsyncClient, demo: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(webhooks, "MAX_ATTEMPTS", 1)
    admin = await login(client)
    url = f"http://127.0.0.1:{free_port()}/nobody-listens"
    sub = await subscribe(client, admin, url, event_types=["conversation.resolved"])
    conv_id = await customer_writes(client)
    await client.post(f"/api/v1/conversations/{conv_id}/resolve", headers=admin)
    await drain()
    (d,) = await deliveries()
    assert d.status == "failed" and d.last_status_code is None
    assert "Connect" in (d.last_error or "")
    log = (await client.get(f"/api/v1/webhooks/{sub['id']}/deliveries", headers=admin)).json()
    assert log["items"][0]["attempt_log"][0]["error"]


async def test_nothing_is_sent_when_the_transaction_rolls_back(
    client: httpx.AsyncClient, demo: Demo, receiver: Receiver
) -> None:
    admin = await login(client)
    sub = await subscribe(client, admin, receiver.url)
    receiver.secret = sub["secret"]
    conv_id = await customer_writes(client)
    await drain()
    jobs_before = await webhook_jobs()
    deliveries_before = len(await deliveries())
    got_before = len(receiver.got)
    p = Principal(
        user_id=demo.users["admin"],
        workspace_id=demo.workspace_id,
        role="admin",
        name="Alex Admin",
        email="admin@demo.omniline",
        locale="en",
        queue_ids=None,
    )

    class Boom(Exception):
        pass

    with pytest.raises(Boom):
        async with db.unit_of_work() as session:
            await conversations.do_resolve(session, p, conv_id)
            raise Boom  # e.g. a later step of the same request failed
    await drain()
    assert len(await deliveries()) == deliveries_before
    assert await webhook_jobs() == jobs_before
    assert len(receiver.got) == got_before


async def test_disabled_subscriptions_get_nothing_and_the_filter_holds(
    client: httpx.AsyncClient, demo: Demo, receiver: Receiver
) -> None:
    admin = await login(client)
    only_resolved = await subscribe(
        client, admin, receiver.url, event_types=["conversation.resolved"]
    )
    receiver.secret = only_resolved["secret"]
    off = await subscribe(client, admin, receiver.url + "?off", enabled=False)
    conv_id = await customer_writes(client)
    agent = await login(client, AGENT)
    await client.post(
        f"/api/v1/conversations/{conv_id}/messages", json={"text": "Hi"}, headers=agent
    )
    await client.post(f"/api/v1/conversations/{conv_id}/resolve", headers=agent)
    await drain()
    assert [g.headers["x-omniline-event"] for g in receiver.got] == ["conversation.resolved"]
    assert all(g.signature_ok for g in receiver.got)
    assert {d.subscription_id for d in await deliveries()} == {only_resolved["id"]}

    # Enabled again, it receives what happens from then on.
    r = await client.patch(f"/api/v1/webhooks/{off['id']}", json={"enabled": True}, headers=admin)
    assert r.status_code == 200 and r.json()["enabled"] is True
    await client.post(f"/api/v1/conversations/{conv_id}/reopen", headers=agent)
    await client.post(f"/api/v1/conversations/{conv_id}/resolve", headers=agent)
    await drain()
    assert {d.subscription_id for d in await deliveries()} == {only_resolved["id"], off["id"]}


async def test_a_wrong_secret_is_refused_by_the_receiver(
    client: httpx.AsyncClient, demo: Demo, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The receiver's check is real: after the secret is rotated, the old one fails."""
    monkeypatch.setattr(webhooks, "MAX_ATTEMPTS", 1)
    admin = await login(client)
    sub = await subscribe(client, admin, receiver.url, event_types=["conversation.resolved"])
    receiver.secret = sub["secret"]
    r = await client.post(f"/api/v1/webhooks/{sub['id']}/secret", headers=admin)
    assert r.status_code == 200 and r.json()["secret"] != sub["secret"]
    conv_id = await customer_writes(client)
    await client.post(f"/api/v1/conversations/{conv_id}/resolve", headers=admin)
    await drain()
    (d,) = await deliveries()
    assert d.status == "failed" and d.last_status_code == 401
    assert receiver.got and not receiver.got[0].signature_ok


async def test_a_new_widget_conversation_is_announced(
    client: httpx.AsyncClient, demo: Demo, receiver: Receiver
) -> None:
    admin = await login(client)
    sub = await subscribe(client, admin, receiver.url, event_types=["conversation.created"])
    receiver.secret = sub["secret"]
    conv_id = await customer_writes(client, "Hello, I need a loan")
    await drain()
    (got,) = receiver.of_type("conversation.created")
    assert got.signature_ok and got.body["data"]["conversation_id"] == conv_id
