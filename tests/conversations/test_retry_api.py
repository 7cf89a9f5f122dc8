"""Sending a failed reply again by hand: who may, and which messages."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from omniline import db
from omniline.auth import service as users
from omniline.conversations import delivery
from omniline.conversations.delivery import DeliveryResult
from omniline.conversations.models import Conversation, Delivery, Message
from omniline.inboxes.models import Inbox
from omniline.jobs.models import Job
from omniline.jobs.runner import Runner
from tests.conftest import Demo, bearer, staff_token
from tests.contacts.people import make_inbox, writes

AGENT = ("agent@demo.omniline", "demo-agent")


async def test_only_a_failed_reply_is_sent_again_by_someone_who_may_write(
    client: httpx.AsyncClient, demo: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    answers = [
        DeliveryResult(Delivery.failed, error="chat not found", permanent=True),
        DeliveryResult(Delivery.sent, external_id="7"),
    ]

    async def send(session: Any, msg: Message, conv: Conversation, inbox: Inbox) -> DeliveryResult:
        return answers.pop(0)

    monkeypatch.setitem(delivery._senders, "telegram", send)
    inbox_id = await make_inbox(demo, "telegram")
    conv = await writes(demo, inbox_id, "chat-1", name="Ivan")
    other = await writes(demo, inbox_id, "chat-2", name="Petro")
    agent = bearer(await staff_token(client, *AGENT))
    base = f"/api/v1/conversations/{conv.conversation_id}"
    r = await client.post(f"{base}/messages", json={"text": "Hello"}, headers=agent)
    msg_id = r.json()["id"]
    note = await client.post(f"{base}/messages", json={"text": "n", "private": True}, headers=agent)
    early = await client.post(f"{base}/messages/{msg_id}/retry", headers=agent)
    assert early.status_code == 409  # still queued: nothing to retry
    await Runner().run_due()

    async with db.unit_of_work() as session:
        await users.do_create_user(
            session,
            workspace_id=demo.workspace_id,
            email="qa@demo.omniline",
            name="Quinn QA",
            password="demo-qa-pass",
            role="qa",
        )
        inbound = await session.scalar(
            select(Message.id).where(
                Message.conversation_id == conv.conversation_id, Message.direction == "in"
            )
        )
    qa = bearer(await staff_token(client, "qa@demo.omniline", "demo-qa-pass"))
    assert (await client.post(f"{base}/messages/{msg_id}/retry", headers=qa)).status_code == 403
    elsewhere = f"/api/v1/conversations/{other.conversation_id}/messages/{msg_id}/retry"
    assert (await client.post(elsewhere, headers=agent)).status_code == 404
    private = f"{base}/messages/{note.json()['id']}/retry"
    assert (await client.post(private, headers=agent)).status_code == 404
    assert (await client.post(f"{base}/messages/{inbound}/retry", headers=agent)).status_code == 409

    r = await client.post(f"{base}/messages/{msg_id}/retry", headers=agent)
    assert r.status_code == 200
    assert r.json()["delivery_status"] == "queued" and r.json()["delivery_error"] is None
    async with db.sessionmaker()() as session:
        jobs = list(await session.scalars(select(Job).where(Job.kind == "deliver_message")))
    assert sorted(j.state for j in jobs) == ["done", "pending"]
    await Runner().run_due()
    items = (await client.get(f"{base}/messages", headers=agent)).json()["items"]
    assert next(m for m in items if m["id"] == msg_id)["delivery_status"] == "sent"
