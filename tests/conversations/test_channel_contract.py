"""The core side of the channel contract (DESIGN.md §4): threading, media, statuses, guards."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from omniline import db
from omniline.config import get_settings
from omniline.conversations import delivery, media
from omniline.conversations.attachments import StoredFile, store
from omniline.conversations.delivery import DeliveryResult
from omniline.conversations.inbound import InboundMessage, MediaRef
from omniline.conversations.models import (
    Attachment,
    Conversation,
    ConversationEvent,
    Delivery,
    Message,
)
from omniline.conversations.service import receive_inbound
from omniline.errors import TooLarge
from omniline.inboxes import service as inboxes
from omniline.inboxes.models import Inbox
from omniline.jobs.models import Job
from omniline.jobs.runner import Runner
from omniline.kit.clock import utcnow
from tests.conftest import Demo, bearer, staff_token

ADMIN = ("admin@demo.omniline", "demo-admin")
CHANNEL = "telegram"  # any channel name the core knows; the test registers its own parts


async def make_inbox(demo: Demo) -> int:
    async with db.unit_of_work() as session:
        inbox = await inboxes.do_create_inbox(
            session,
            demo.workspace_id,
            channel=CHANNEL,
            name="Test bot",
            default_queue_id=demo.queues["First line"],
        )
        return inbox.id


async def writes(demo: Demo, inbox_id: int, text: str, **extra: Any) -> Message:
    async with db.unit_of_work() as session:
        (res,) = await receive_inbound(
            session,
            [
                InboundMessage(
                    workspace_id=demo.workspace_id,
                    inbox_id=inbox_id,
                    text=text,
                    sender_address=extra.pop("sender", "chat-1"),
                    sender_name="Ivan",
                    **extra,
                )
            ],
        )
        return res.message


async def conv_of(msg: Message) -> Conversation:
    async with db.sessionmaker()() as session:
        conv = await session.get(Conversation, msg.conversation_id)
        assert conv is not None
        return conv


async def test_new_thread_starts_a_case_and_a_reply_joins_it(demo: Demo) -> None:
    inbox_id = await make_inbox(demo)
    first = await writes(demo, inbox_id, "Loan question", new_conversation=True, external_id="a")
    second = await writes(demo, inbox_id, "Card question", new_conversation=True, external_id="b")
    assert first.conversation_id != second.conversation_id
    reply = await writes(
        demo, inbox_id, "Re: loan", conversation_id=first.conversation_id, external_id="c"
    )
    assert reply.conversation_id == first.conversation_id
    conv = await conv_of(first)
    assert conv.contact_address == "chat-1"
    assert conv.last_message_text == "Re: loan"


async def test_a_reply_to_a_resolved_case_reopens_it(demo: Demo) -> None:
    inbox_id = await make_inbox(demo)
    first = await writes(demo, inbox_id, "Hello", external_id="a")
    async with db.unit_of_work() as session:
        conv = await session.get(Conversation, first.conversation_id)
        assert conv is not None
        conv.status, conv.resolved_at = "resolved", utcnow()
    again = await writes(
        demo, inbox_id, "One more thing", conversation_id=first.conversation_id, external_id="b"
    )
    assert again.conversation_id == first.conversation_id
    conv = await conv_of(again)
    assert conv.status == "queued" and conv.resolved_at is None
    async with db.sessionmaker()() as session:
        types = list(
            await session.scalars(
                select(ConversationEvent.type).where(ConversationEvent.conversation_id == conv.id)
            )
        )
    assert "reopened" in types


async def test_an_automatic_answer_to_a_resolved_case_does_not_reopen_it(demo: Demo) -> None:
    inbox_id = await make_inbox(demo)
    first = await writes(demo, inbox_id, "Hello", external_id="a")
    async with db.unit_of_work() as session:
        conv = await session.get(Conversation, first.conversation_id)
        assert conv is not None
        conv.status, conv.resolved_at = "resolved", utcnow()
    auto = await writes(
        demo,
        inbox_id,
        "I am out of office until Monday",
        external_id="b",
        conversation_id=first.conversation_id,
        meta={"auto_submitted": True},
    )
    assert auto.conversation_id == first.conversation_id
    assert (await conv_of(auto)).status == "resolved"


async def test_a_closed_or_foreign_thread_is_not_joined(demo: Demo) -> None:
    inbox_id = await make_inbox(demo)
    first = await writes(demo, inbox_id, "Hello", external_id="a")
    async with db.unit_of_work() as session:
        conv = await session.get(Conversation, first.conversation_id)
        assert conv is not None
        conv.status = "closed"
    again = await writes(
        demo, inbox_id, "New", conversation_id=first.conversation_id, external_id="b"
    )
    assert again.conversation_id != first.conversation_id


async def test_sender_phone_fills_the_contact_in_canonical_form(demo: Demo) -> None:
    inbox_id = await make_inbox(demo)
    msg = await writes(
        demo, inbox_id, "Hi", contact_phone="8 (916) 123-45-67".replace("8", "+7", 1)
    )
    async with db.sessionmaker()() as session:
        from omniline.contacts.models import Contact

        conv = await session.get(Conversation, msg.conversation_id)
        assert conv is not None
        contact = await session.get(Contact, conv.contact_id)
        assert contact is not None
    assert contact.phone == "+79161234567"
    assert contact.verified is False
    async with db.sessionmaker()() as session:
        from omniline.contacts.repository import by_identity

        owner = await by_identity(session, demo.workspace_id, "phone", "+79161234567")
    assert owner is not None and owner.id == contact.id


async def test_an_email_reply_joins_the_customer_of_its_thread(demo: Demo) -> None:
    inbox_id = await make_inbox(demo)
    first = await writes(demo, inbox_id, "Hello", external_id="a", sender="chat-1")
    reply = await writes(
        demo,
        inbox_id,
        "From my other address",
        external_id="b",
        sender="chat-2",
        conversation_id=first.conversation_id,
    )
    assert reply.conversation_id == first.conversation_id
    assert reply.author_id == first.author_id  # no second contact for the same customer


async def test_media_is_fetched_after_commit_and_a_refused_file_is_explained(
    demo: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox_id = await make_inbox(demo)
    sent: list[str] = []

    async def fetch(session: Any, inbox: Inbox, ref: MediaRef) -> StoredFile:
        if ref.ref["id"] == "big":
            raise TooLarge("the file is larger than the limit")
        return store(get_settings(), inbox.workspace_id, ref.filename, "image/png", b"\x89PNG..")

    async def send(session: Any, msg: Message, conv: Conversation, inbox: Inbox) -> DeliveryResult:
        sent.append(msg.text)
        return DeliveryResult(Delivery.sent)

    monkeypatch.setitem(media._fetchers, CHANNEL, fetch)
    monkeypatch.setitem(delivery._senders, CHANNEL, send)
    msg = await writes(
        demo,
        inbox_id,
        "two files",
        external_id="m1",
        media=[MediaRef({"id": "ok"}, "photo.png"), MediaRef({"id": "big"}, "video.mp4")],
    )
    assert msg.meta["media_pending"] == 2
    await Runner().run_due()
    await Runner().run_due()  # the refusal it queued goes out
    async with db.sessionmaker()() as session:
        stored = await session.get(Message, msg.id)
        atts = list(
            await session.scalars(select(Attachment).where(Attachment.message_id == msg.id))
        )
    assert stored is not None
    assert [a.filename for a in atts] == ["photo.png"]
    assert "media_pending" not in stored.meta
    assert stored.meta["media_failed"][0]["filename"] == "video.mp4"
    assert any("video.mp4" in text for text in sent), sent


async def _outbound(demo: Demo, inbox_id: int, client: httpx.AsyncClient) -> tuple[int, int]:
    msg = await writes(demo, inbox_id, "Hello", external_id="in-1")
    headers = bearer(await staff_token(client, *ADMIN))
    r = await client.post(
        f"/api/v1/conversations/{msg.conversation_id}/messages",
        json={"text": "Good afternoon"},
        headers=headers,
    )
    assert r.status_code == 201, r.text
    return msg.conversation_id, int(r.json()["id"])


async def test_statuses_move_forward_only(
    demo: Demo, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox_id = await make_inbox(demo)

    async def send(session: Any, msg: Message, conv: Conversation, inbox: Inbox) -> DeliveryResult:
        return DeliveryResult(Delivery.sent, external_id="wamid.1")

    monkeypatch.setitem(delivery._senders, CHANNEL, send)
    _conv_id, msg_id = await _outbound(demo, inbox_id, client)
    await Runner().run_due()
    async with db.sessionmaker()() as session:
        sent = await session.get(Message, msg_id)
    assert sent is not None and (sent.delivery_status, sent.external_id) == ("sent", "wamid.1")
    seen = []
    for status in (Delivery.read, Delivery.delivered, Delivery.sent):
        async with db.unit_of_work() as session:
            m = await delivery.update_delivery_status(session, inbox_id, "wamid.1", status)
            assert m is not None
            seen.append(m.delivery_status)
    assert seen == ["read", "read", "read"]
    async with db.unit_of_work() as session:
        assert (
            await delivery.update_delivery_status(session, inbox_id, "unknown", Delivery.read)
            is None
        )


async def test_rate_limit_keeps_the_message_queued_then_a_failure_can_be_retried_by_hand(
    demo: Demo, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox_id = await make_inbox(demo)
    answers = [
        DeliveryResult(Delivery.failed, error="Too Many Requests", retry_after=30),
        DeliveryResult(
            Delivery.failed, error="Forbidden: bot was blocked by the user", permanent=True
        ),
        DeliveryResult(Delivery.sent, external_id="42"),
    ]

    async def send(session: Any, msg: Message, conv: Conversation, inbox: Inbox) -> DeliveryResult:
        return answers.pop(0)

    monkeypatch.setitem(delivery._senders, CHANNEL, send)
    conv_id, msg_id = await _outbound(demo, inbox_id, client)
    await Runner().run_due()
    async with db.sessionmaker()() as session:
        m = await session.get(Message, msg_id)
        retry = await session.scalar(
            select(Job).where(Job.kind == "deliver_message", Job.state == "pending")
        )
    assert m is not None and m.delivery_status == "queued"
    assert m.delivery_error is not None and "30" in m.delivery_error
    assert retry is not None and retry.run_at >= utcnow() + timedelta(seconds=25)

    async with db.unit_of_work() as session:  # the retry falls due
        job = await session.get(Job, retry.id)
        assert job is not None
        job.run_at = utcnow()
    await Runner().run_due()
    async with db.sessionmaker()() as session:
        m = await session.get(Message, msg_id)
        pending = await session.scalar(
            select(Job).where(Job.kind == "deliver_message", Job.state == "pending")
        )
    assert m is not None and m.delivery_status == "failed"
    assert m.delivery_error == "Forbidden: bot was blocked by the user"
    assert pending is None  # permanent: no automatic retry

    headers = bearer(await staff_token(client, *ADMIN))
    r = await client.post(
        f"/api/v1/conversations/{conv_id}/messages/{msg_id}/retry", headers=headers
    )
    assert r.status_code == 200, r.text
    assert r.json()["delivery_status"] == "queued"
    await Runner().run_due()
    r = await client.get(f"/api/v1/conversations/{conv_id}/messages", headers=headers)
    out = next(m for m in r.json()["items"] if m["id"] == msg_id)
    assert out["delivery_status"] == "sent"
    again = await client.post(
        f"/api/v1/conversations/{conv_id}/messages/{msg_id}/retry", headers=headers
    )
    assert again.status_code == 409


async def test_a_reply_guard_refuses_with_its_reason(
    demo: Demo, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox_id = await make_inbox(demo)

    async def guard(
        session: Any, conv: Conversation, inbox: Inbox, meta: dict[str, Any]
    ) -> str | None:
        return None if meta.get("template") else "Only a template can be sent now."

    monkeypatch.setitem(delivery._guards, CHANNEL, guard)
    msg = await writes(demo, inbox_id, "Hello", external_id="in-1")
    headers = bearer(await staff_token(client, *ADMIN))
    url = f"/api/v1/conversations/{msg.conversation_id}"
    r = await client.post(f"{url}/messages", json={"text": "Hi"}, headers=headers)
    assert r.status_code == 409
    assert "template" in r.json()["error"]["message"]
    detail = (await client.get(url, headers=headers)).json()
    assert detail["reply_blocked"] == "Only a template can be sent now."
    note = await client.post(
        f"{url}/messages", json={"text": "n", "private": True}, headers=headers
    )
    assert note.status_code == 201
