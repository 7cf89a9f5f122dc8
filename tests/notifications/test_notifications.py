"""The CRM tells a customer about their application: in their channel and language, once per
idempotency key, never to someone who opted out; their reply is a normal conversation."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from omniline import db
from omniline.conversations.models import Conversation, Message
from tests.channels.telegram.fake_telegram import FakeTelegram
from tests.channels.telegram.helpers import make_bot, message, messages_of, post, run_jobs
from tests.conftest import Demo, bearer, staff_token

ADMIN = ("admin@demo.omniline", "demo-admin")
APPROVED = {
    "key": "application.approved",
    "name": "Application approved",
    "texts": {
        "en": "Your application {{application}} was approved: {{amount}} UAH.",
        "uk": "Вашу заявку {{application}} схвалено: {{amount}} грн.",
        "ru": "Ваша заявка {{application}} одобрена: {{amount}} грн.",
    },
    "fallback_language": "en",
}


@pytest.fixture
def fake_telegram() -> Iterator[FakeTelegram]:
    server = FakeTelegram()
    server.start()
    yield server
    server.stop()


async def admin(client: httpx.AsyncClient) -> dict[str, str]:
    return bearer(await staff_token(client, *ADMIN))


async def template(client: httpx.AsyncClient, h: dict[str, str]) -> None:
    r = await client.post("/api/v1/notifications/templates", json=APPROVED, headers=h)
    assert r.status_code == 201, r.text


def note(external_id: str = "client-42", key: str = "k1", **extra: Any) -> dict[str, Any]:
    return {
        "external_id": external_id,
        "template": "application.approved",
        "variables": {"application": "A-17", "amount": 50000},
        "idempotency_key": key,
        **extra,
    }


async def outbound(conv_id: int) -> list[Message]:
    async with db.sessionmaker()() as session:
        rows = await session.scalars(
            select(Message)
            .where(Message.conversation_id == conv_id, Message.direction == "out")
            .order_by(Message.id)
        )
        return list(rows)


async def test_sent_in_the_customers_language_once_per_key(
    client: httpx.AsyncClient, demo: Demo
) -> None:
    h = await admin(client)
    await template(client, h)
    r = await client.post("/api/v1/notifications", json=note(), headers=h)
    assert r.status_code == 201, r.text
    first = r.json()
    # Olena (client-42) speaks Ukrainian and is known in the website chat.
    assert (first["status"], first["channel"], first["language"]) == ("sent", "webchat", "uk")
    (msg,) = await outbound(first["conversation_id"])
    assert msg.text == "Вашу заявку A-17 схвалено: 50000 грн."
    r = await client.post("/api/v1/notifications", json=note(), headers=h)
    assert r.status_code == 200 and r.json()["id"] == first["id"]
    assert len(await outbound(first["conversation_id"])) == 1
    # The header works as well as the field.
    body = note()
    del body["idempotency_key"]
    r = await client.post(
        "/api/v1/notifications", json=body, headers={**h, "Idempotency-Key": "k2"}
    )
    assert r.status_code == 201 and r.json()["id"] != first["id"]
    r = await client.get(f"/api/v1/notifications/{first['id']}", headers=h)
    assert r.json()["delivery_status"] in ("queued", "sent", "delivered")


async def test_an_opted_out_customer_gets_nothing(client: httpx.AsyncClient, demo: Demo) -> None:
    h = await admin(client)
    await template(client, h)
    r = await client.put(
        "/api/v1/notifications/opt-out",
        json={"external_id": "client-42", "opt_out": True},
        headers=h,
    )
    assert r.json() == {"external_id": "client-42", "opt_out": True}
    r = await client.post("/api/v1/notifications", json=note(), headers=h)
    assert r.status_code == 201
    assert r.json()["status"] == "opted_out" and r.json()["message_id"] is None


async def test_bad_calls_are_refused(client: httpx.AsyncClient, demo: Demo) -> None:
    h = await admin(client)
    await template(client, h)
    body = note()
    del body["idempotency_key"]
    r = await client.post("/api/v1/notifications", json=body, headers=h)
    assert r.status_code == 422 and "idempotency" in r.text
    r = await client.post("/api/v1/notifications", json=note("nobody"), headers=h)
    assert r.status_code == 404 and r.json()["error"]["fields"][0]["field"] == "external_id"
    r = await client.post("/api/v1/notifications", json=note(template="no.such"), headers=h)
    assert r.status_code == 404 and r.json()["error"]["fields"][0]["field"] == "template"
    r = await client.post(
        "/api/v1/notifications/templates", json={**APPROVED, "texts": {}}, headers=h
    )
    assert r.status_code == 422
    r = await client.post("/api/v1/notifications/templates", json=APPROVED, headers=h)
    assert r.status_code == 409 and r.json()["error"]["fields"][0]["field"] == "key"
    agent = bearer(await staff_token(client, "agent@demo.omniline", "demo-agent"))
    assert (
        await client.post("/api/v1/notifications", json=note(), headers=agent)
    ).status_code == 403


async def test_over_telegram_and_the_reply_continues_the_conversation(
    client: httpx.AsyncClient, demo: Demo, fake_telegram: FakeTelegram
) -> None:
    h = await admin(client)
    await template(client, h)
    bot = await make_bot(demo, fake_telegram)
    await post(client, bot, message(text="Hello"))
    (incoming,) = await messages_of(bot.inbox_id)
    conv_id = incoming.conversation_id
    r = await client.post(f"/api/v1/conversations/{conv_id}/resolve", headers=h)
    assert r.status_code == 200, r.text
    # The CRM knows this customer by its own number.
    async with db.unit_of_work() as session:
        conv = await session.get(Conversation, conv_id)
        assert conv is not None
        from omniline.contacts.models import Contact

        contact = await session.get(Contact, conv.contact_id)
        assert contact is not None
        contact.external_id = "crm-555"
    r = await client.post("/api/v1/notifications", json=note("crm-555"), headers=h)
    assert r.status_code == 201, r.text
    sent = r.json()
    assert sent["channel"] == "telegram" and sent["language"] == "en"
    await run_jobs()
    texts = [c.params["text"] for c in fake_telegram.called("sendMessage")]
    assert texts[-1] == "Your application A-17 was approved: 50000 UAH."
    r = await client.get(f"/api/v1/notifications/{sent['id']}", headers=h)
    assert r.json()["delivery_status"] == "sent"
    # The customer answers: the same new conversation, now waiting in the queue.
    await post(client, bot, message(text="Thank you! When is the first payment?"))
    async with db.sessionmaker()() as session:
        conv = await session.get(Conversation, sent["conversation_id"])
        assert conv is not None
        assert conv.status == "queued"
    last = (await messages_of(bot.inbox_id))[-1]
    assert last.conversation_id == sent["conversation_id"]


async def test_a_send_that_fails_leaves_its_key_free(
    client: httpx.AsyncClient, demo: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The key is stored in the sending transaction: when that fails after the key was
    taken, a retry sends. On SQLite the key's savepoint used to commit at once, alone: the
    retry then answered "sent before" for a notification that was never sent."""
    from omniline.notifications import service
    from omniline.notifications.models import Notification

    await template(client, await admin(client))
    body = note()
    send = {
        "external_id": body["external_id"],
        "template_key": body["template"],
        "variables": body["variables"],
        "idempotency_key": body["idempotency_key"],
    }

    async def broken(*_: Any) -> None:
        raise RuntimeError("the process died before the commit")

    with monkeypatch.context() as m:
        m.setattr(service, "_target", broken)
        with pytest.raises(RuntimeError):
            async with db.unit_of_work() as session:
                await service.do_send(session, demo.workspace_id, **send)
    async with db.sessionmaker()() as session:
        assert list(await session.scalars(select(Notification))) == []
    async with db.unit_of_work() as session:
        sent, created = await service.do_send(session, demo.workspace_id, **send)
    assert created and sent.message_id is not None
