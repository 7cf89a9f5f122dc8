"""Offline fallback: a web-chat visitor who has left gets the agent's reply by email, and
their email answer lands in the same chat. A visitor who is still there gets no letter."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import aiosmtplib
import httpx
import pytest
from sqlalchemy import select, update
from websockets.asyncio.client import connect

from omniline import db
from omniline.channels.email import smtp_receiver
from omniline.contacts.models import ContactIdentity
from omniline.jobs.models import Job, JobState
from omniline.kit.clock import utcnow
from tests.channels.email.conftest import SmtpSink
from tests.channels.email.test_outbound_support import (
    email_inbox,
    message,
    run_jobs,
    set_inbox_settings,
    smtp_settings,
)
from tests.conftest import Demo, LiveServer, bearer, free_port, staff_token
from tests.identity import signed_identity

VISITOR_EMAIL = "mykola@example.com"


@pytest.fixture
async def http(live_server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=live_server.url, timeout=10) as c:
        yield c


async def fallback_to(demo: Demo, sink: SmtpSink, minutes: float) -> int:
    """Point the demo web chat at a support mailbox for visitors who left."""
    mailbox_id = await email_inbox(demo, smtp_settings(sink))
    await set_inbox_settings(
        demo.inbox_id, fallback_email_inbox_id=mailbox_id, fallback_after_minutes=minutes
    )
    return mailbox_id


async def known_visitor(
    http: httpx.AsyncClient, demo: Demo, email: str | None, external_id: str = "client-77"
) -> dict[str, Any]:
    """A logged-in customer of the lender's site (their email comes with the identity)."""
    fields = {"name": "Mykola", **({"email": email} if email else {})}
    identity = signed_identity(demo.identity_secret, external_id, **fields)
    r = await http.post(
        "/api/v1/widget/sessions", json={"inbox_key": demo.inbox_key, "identity": identity}
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


async def visitor_writes(http: httpx.AsyncClient, token: str, text: str) -> int:
    r = await http.post("/api/v1/widget/messages", json={"text": text}, headers=bearer(token))
    assert r.status_code == 201, r.text
    return int(r.json()["conversation_id"])


async def agent_replies(http: httpx.AsyncClient, conv_id: int, text: str, **extra: Any) -> int:
    token = await staff_token(http, "agent@demo.omniline", "demo-agent")
    r = await http.post(
        f"/api/v1/conversations/{conv_id}/messages",
        json={"text": text, **extra},
        headers=bearer(token),
    )
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


async def set_live_until(contact_id: int, minutes_from_now: float) -> None:
    async with db.unit_of_work() as session:
        await session.execute(
            update(ContactIdentity)
            .where(ContactIdentity.contact_id == contact_id)
            .values(live_until=utcnow() + timedelta(minutes=minutes_from_now))
        )


async def live_until(contact_id: int) -> list[Any]:
    async with db.sessionmaker()() as session:
        return list(
            await session.scalars(
                select(ContactIdentity.live_until).where(ContactIdentity.contact_id == contact_id)
            )
        )


async def wait_until_away(contact_id: int) -> None:
    """The server notes the disconnect after the socket closes; wait for that write."""
    for _ in range(200):
        values = await live_until(contact_id)
        if values and all(v is not None and v <= utcnow() for v in values):
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"the visitor was never marked away: {values}")


async def answer_by_email(letter: EmailMessage, text: str) -> None:
    """The customer replies to ``letter``; their provider delivers it to the mailbox."""
    answer = EmailMessage()
    answer["From"] = f"Mykola <{VISITOR_EMAIL}>"
    answer["To"] = str(letter["From"])
    answer["Subject"] = f"Re: {letter['Subject']}"
    answer["Message-ID"] = "<answer.1@example.com>"
    answer["In-Reply-To"] = str(letter["Message-ID"])
    answer["References"] = str(letter["Message-ID"])
    quoted = "\n".join(
        f"> {line}" for line in (letter.get_body() or letter).get_content().split("\n")
    )
    answer.set_content(f"{text}\n\nOn Monday MicroLend wrote:\n{quoted}\n")
    port = free_port()
    server = await smtp_receiver.start("127.0.0.1", port)
    try:
        await aiosmtplib.send(answer, hostname="127.0.0.1", port=port, start_tls=False)
    finally:
        server.close()
        await server.wait_closed()


async def fallback_jobs() -> list[Job]:
    async with db.sessionmaker()() as session:
        return list(
            await session.scalars(
                select(Job).where(Job.kind == "email_fallback", Job.state == JobState.pending.value)
            )
        )


async def test_connected_visitor_gets_no_letter_one_who_left_does(
    http: httpx.AsyncClient, live_server: LiveServer, demo: Demo, smtp_server: SmtpSink
) -> None:
    await fallback_to(demo, smtp_server, minutes=0)
    visitor = await known_visitor(http, demo, VISITOR_EMAIL)
    conv_id = await visitor_writes(http, visitor["session_token"], "Is my loan approved?")

    url = f"ws://127.0.0.1:{live_server.port}/api/v1/widget/stream?token={visitor['session_token']}"
    async with connect(url) as ws:
        await asyncio.wait_for(ws.recv(), 5)  # hello: the visitor is connected
        first = await agent_replies(http, conv_id, "Checking, one moment.")
        await run_jobs()
        assert smtp_server.letters == []
        assert "sent_by_email" not in (await message(first)).meta
    await wait_until_away(visitor["contact_id"])

    second = await agent_replies(http, conv_id, "Approved: 50 000 UAH.\nSign in to accept.")
    await run_jobs()

    (sent,) = smtp_server.letters
    letter = message_from_bytes(sent.raw, policy=policy.default)
    assert isinstance(letter, EmailMessage)
    assert sent.rcpt_tos == [VISITOR_EMAIL]
    assert letter["Subject"] == f"New reply to your chat with MicroLend (demo) [#{conv_id}]"
    body = letter.get_body(preferencelist=("plain",))
    assert body is not None
    text = body.get_content().replace("\r\n", "\n")
    assert "Approved: 50 000 UAH.\nSign in to accept." in text
    assert "your reply reaches the same chat" in text
    stored = await message(second)
    assert stored.meta["sent_by_email"] == VISITOR_EMAIL
    assert stored.delivery_status == "sent"  # the chat has it too
    # The first reply, seen live, is not sent later either.
    assert "sent_by_email" not in (await message(first)).meta

    # The customer answers the letter from their mail program: the answer reaches the
    # mailbox (here through the built-in SMTP receiver) and lands in the same chat.
    await answer_by_email(letter, "Thank you! Where do I sign?")
    token = await staff_token(http, "agent@demo.omniline", "demo-agent")
    r = await http.get(f"/api/v1/conversations/{conv_id}/messages", headers=bearer(token))
    inbound = [m for m in r.json()["items"] if m["direction"] == "in"]
    assert [m["text"].strip() for m in inbound] == [
        "Is my loan approved?",
        "Thank you! Where do I sign?",
    ]
    history = await http.get("/api/v1/widget/messages", headers=bearer(visitor["session_token"]))
    assert "Thank you! Where do I sign?" in [m["text"].strip() for m in history.json()["items"]]


async def test_a_visitor_who_just_left_is_given_time_to_come_back(
    http: httpx.AsyncClient, demo: Demo, smtp_server: SmtpSink
) -> None:
    await fallback_to(demo, smtp_server, minutes=5)
    visitor = await known_visitor(http, demo, VISITOR_EMAIL)
    conv_id = await visitor_writes(http, visitor["session_token"], "Hello?")
    await set_live_until(visitor["contact_id"], -1)  # closed the tab a minute ago

    reply_id = await agent_replies(http, conv_id, "Hello! How can we help?")
    await run_jobs()
    assert smtp_server.letters == []
    (waiting,) = await fallback_jobs()
    assert waiting.run_at > utcnow() + timedelta(minutes=3)

    # Five minutes later, still away: the letter goes.
    await set_live_until(visitor["contact_id"], -6)
    async with db.unit_of_work() as session:
        await session.execute(update(Job).where(Job.id == waiting.id).values(run_at=utcnow()))
    await run_jobs()
    assert len(smtp_server.letters) == 1
    assert (await message(reply_id)).meta["sent_by_email"] == VISITOR_EMAIL


async def test_a_visitor_who_came_back_in_time_gets_no_letter(
    http: httpx.AsyncClient, demo: Demo, smtp_server: SmtpSink
) -> None:
    await fallback_to(demo, smtp_server, minutes=5)
    visitor = await known_visitor(http, demo, VISITOR_EMAIL)
    conv_id = await visitor_writes(http, visitor["session_token"], "Hello?")
    await set_live_until(visitor["contact_id"], -1)
    reply_id = await agent_replies(http, conv_id, "Hello! How can we help?")
    await run_jobs()
    (waiting,) = await fallback_jobs()

    await set_live_until(visitor["contact_id"], 1)  # back in the chat, reading
    async with db.unit_of_work() as session:
        await session.execute(update(Job).where(Job.id == waiting.id).values(run_at=utcnow()))
    await run_jobs()
    assert smtp_server.letters == []
    assert "sent_by_email" not in (await message(reply_id)).meta
    assert await fallback_jobs() == []


async def test_no_letter_without_an_email_notes_or_a_fallback_mailbox(
    http: httpx.AsyncClient, demo: Demo, smtp_server: SmtpSink
) -> None:
    mailbox_id = await fallback_to(demo, smtp_server, minutes=0)
    anonymous = await known_visitor(http, demo, None, "client-78")
    conv_id = await visitor_writes(http, anonymous["session_token"], "Hi")
    await set_live_until(anonymous["contact_id"], -10)
    await agent_replies(http, conv_id, "Hello!")

    known = await known_visitor(http, demo, VISITOR_EMAIL)
    conv2 = await visitor_writes(http, known["session_token"], "Hi")
    await set_live_until(known["contact_id"], -10)
    await agent_replies(http, conv2, "A note for colleagues", private=True)
    await run_jobs()
    assert smtp_server.letters == []

    # A mailbox of another kind, or none at all, sends nothing either.
    await set_inbox_settings(demo.inbox_id, fallback_email_inbox_id=demo.inbox_id)
    await agent_replies(http, conv2, "Hello!")
    await set_inbox_settings(demo.inbox_id, fallback_email_inbox_id=None)
    await agent_replies(http, conv2, "Hello again!")
    await run_jobs()
    assert smtp_server.letters == []

    await set_inbox_settings(demo.inbox_id, fallback_email_inbox_id=mailbox_id)
    await agent_replies(http, conv2, "Now by email too.")
    await run_jobs()
    assert len(smtp_server.letters) == 1


async def test_a_refused_address_is_shown_on_the_message(
    http: httpx.AsyncClient, demo: Demo, smtp_server: SmtpSink
) -> None:
    smtp_server.refuse[VISITOR_EMAIL] = "550 5.1.1 mailbox unavailable"
    await fallback_to(demo, smtp_server, minutes=0)
    visitor = await known_visitor(http, demo, VISITOR_EMAIL)
    conv_id = await visitor_writes(http, visitor["session_token"], "Hi")
    await set_live_until(visitor["contact_id"], -10)
    reply_id = await agent_replies(http, conv_id, "Hello!")
    await run_jobs()

    stored = await message(reply_id)
    assert "sent_by_email" not in stored.meta
    assert "mailbox unavailable" in stored.meta["email"]["fallback_error"]
    assert stored.delivery_status == "sent"  # the chat itself still has the reply
    assert await fallback_jobs() == []
