"""The built-in SMTP receiver: forwarded letters for our addresses are stored, others refused."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiosmtplib
import pytest

from omniline import db
from omniline.channels.email import smtp_receiver
from omniline.config import Settings
from omniline.routing import rules
from omniline.workspaces import service as workspaces
from tests.channels.email.support import (
    LOANS,
    SUPPORT,
    conversation,
    email_inbox,
    letter,
    messages_of,
)
from tests.conftest import Demo, free_port


@pytest.fixture
async def receiver(engine: None) -> AsyncIterator[int]:
    port = free_port()
    server = await smtp_receiver.start("127.0.0.1", port)
    yield port
    server.close()
    await server.wait_closed()


async def send(port: int, raw: bytes, to: list[str], sender: str = "anna@customer.example") -> None:
    await aiosmtplib.send(raw, hostname="127.0.0.1", port=port, sender=sender, recipients=to)


async def test_a_forwarded_letter_for_a_known_address_is_stored(demo: Demo, receiver: int) -> None:
    async with db.unit_of_work() as session:
        credit = await workspaces.do_create_queue(session, demo.workspace_id, "Credit")
        await rules.do_create_rule(
            session,
            demo.workspace_id,
            {
                "name": "Loan letters",
                "priority": 10,
                "conditions": [{"type": "mailbox", "addresses": [LOANS]}],
                "actions": {"queue_id": credit.id},
            },
        )
    inbox_id = await email_inbox(demo, SUPPORT, aliases=[LOANS])
    # The bank's mail server forwards a letter written to loans@: the envelope names the
    # alias (in capitals, as some servers do) while the header still says the old address.
    raw = letter("Can I repay early?", to="old-address@bank.example")
    await send(receiver, raw, ["LOANS@microlend.example"])
    await send(receiver, raw, [LOANS])  # the sending server tried again: stored once

    (msg,) = await messages_of(inbox_id)
    assert msg.text == "Can I repay early?"
    conv = await conversation(msg.conversation_id)
    assert conv.queue_id == credit.id
    assert conv.contact_address == "anna@customer.example"


async def test_unknown_recipients_are_refused(demo: Demo, receiver: int) -> None:
    inbox_id = await email_inbox(demo, SUPPORT)
    with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as refused:
        await send(receiver, letter("Relay me"), ["victim@elsewhere.example"])
    (error,) = refused.value.recipients
    assert error.code == 550

    # One known and one unknown recipient: the letter reaches the known one only.
    errors, _ = await aiosmtplib.send(
        letter("Hello"),
        hostname="127.0.0.1",
        port=receiver,
        sender="anna@customer.example",
        recipients=[SUPPORT, "nobody@microlend.example"],
    )
    assert list(errors) == ["nobody@microlend.example"]
    assert [m.text for m in await messages_of(inbox_id)] == ["Hello"]


async def test_a_disabled_inbox_takes_no_mail(demo: Demo, receiver: int) -> None:
    from omniline.inboxes.models import Inbox

    inbox_id = await email_inbox(demo, SUPPORT)
    async with db.unit_of_work() as session:
        inbox = await session.get(Inbox, inbox_id)
        assert inbox is not None
        inbox.enabled = False
    with pytest.raises(aiosmtplib.SMTPRecipientsRefused):
        await send(receiver, letter("Anyone?"), [SUPPORT])


async def test_the_envelope_sender_stands_in_for_a_missing_from(demo: Demo, receiver: int) -> None:
    inbox_id = await email_inbox(demo, SUPPORT)
    raw = b"To: support@microlend.example\r\nSubject: no from\r\n\r\nWho am I?\r\n"
    await send(receiver, raw, [SUPPORT], sender="bounce-me@customer.example")
    (msg,) = await messages_of(inbox_id)
    assert (await conversation(msg.conversation_id)).contact_address == (
        "bounce-me@customer.example"
    )


async def test_the_background_loop_listens_on_the_configured_port(
    demo: Demo, settings: Settings
) -> None:
    await asyncio.wait_for(smtp_receiver.serve(), 5)  # no port set: off, returns at once

    settings.smtp_receiver_port = free_port()
    inbox_id = await email_inbox(demo, SUPPORT)
    loop = asyncio.create_task(smtp_receiver.serve())
    try:
        for _ in range(100):
            try:
                await send(settings.smtp_receiver_port, letter("Via the loop"), [SUPPORT])
                break
            except aiosmtplib.SMTPConnectError:
                await asyncio.sleep(0.05)
        assert [m.text for m in await messages_of(inbox_id)] == ["Via the loop"]
    finally:
        loop.cancel()
        with pytest.raises(asyncio.CancelledError):
            await loop


async def _raw_smtp(port: int, to: str, payload: bytes) -> bytes:
    """A sending server as many real ones talk: bare LF line ends and long lines in DATA."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    answers = []

    async def say(line: bytes) -> bytes:
        writer.write(line)
        await writer.drain()
        answer = await reader.readline()
        while answer[3:4] == b"-":  # multi-line EHLO answer
            answer = await reader.readline()
        answers.append(answer)
        return answer

    await reader.readline()  # greeting
    await say(b"EHLO mta.example\r\n")
    await say(b"MAIL FROM:<anna@customer.example>\r\n")
    await say(f"RCPT TO:<{to}>\r\n".encode())
    await say(b"DATA\r\n")
    final = await say(payload + b"\r\n.\r\n")
    writer.write(b"QUIT\r\n")
    writer.close()
    return final


async def test_bare_lf_letters_and_long_lines_are_accepted(demo: Demo, receiver: int) -> None:
    inbox_id = await email_inbox(demo, SUPPORT)
    long_line = "Loan contract 12-345: " + "very long text " * 400
    payload = (
        b"From: Anna <anna@customer.example>\n"
        b"To: " + SUPPORT.encode() + b"\n"
        b"Subject: Long lines\n"
        b"Message-ID: <bare-lf-1@customer.example>\n"
        b"Content-Type: text/plain; charset=utf-8\n\n" + long_line.encode() + b"\nsecond line\n"
    )
    answer = await _raw_smtp(receiver, SUPPORT, payload)
    assert answer.startswith(b"250"), answer
    (msg,) = await messages_of(inbox_id)
    assert "Loan contract 12-345" in msg.text
    assert "second line" in msg.text


async def test_a_letter_over_the_size_limit_is_refused(
    demo: Demo, receiver: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    await email_inbox(demo, SUPPORT)
    monkeypatch.setattr(smtp_receiver, "MAX_LETTER_BYTES", 20_000)
    port = free_port()
    server = await smtp_receiver.start("127.0.0.1", port)
    try:
        payload = b"Subject: big\n\n" + b"x" * 30_000 + b"\n"
        answer = await _raw_smtp(port, SUPPORT, payload)
    finally:
        server.close()
        await server.wait_closed()
    assert answer.startswith(b"552"), answer
