"""Letters that used to lose their body or mislead: deep MIME nesting, long subjects, bidi
controls in names and subjects, and bounces that mark the reply they answer as failed."""

from __future__ import annotations

import httpx

from omniline.channels.email import inbound, smtp_receiver
from tests.channels.email.support import SUPPORT, attachments_of, email_inbox, letter, messages_of
from tests.channels.email.test_outbound_support import (
    CUSTOMER,
    MAILBOX,
    customer_writes,
    message,
    run_jobs,
    smtp_settings,
)
from tests.channels.email.test_outbound_support import email_inbox as smtp_inbox
from tests.conftest import Demo, bearer, staff_token


async def _deliver(address: str, raw: bytes) -> None:
    box = await smtp_receiver.mailbox_for(address)
    assert box is not None
    await smtp_receiver.deliver(box, [inbound.Incoming(raw, address, "anna@customer.example")])


def _nested(depth: int, text: str) -> bytes:
    head = (
        "From: Anna <anna@customer.example>\r\nTo: " + SUPPORT + "\r\nSubject: Deep\r\n"
        "Message-ID: <deep-1@customer.example>\r\nMIME-Version: 1.0\r\n"
    )
    body = f"Content-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n"
    for level in range(depth):
        boundary = f"b{level}"
        body = (
            f'Content-Type: multipart/mixed; boundary="{boundary}"\r\n\r\n'
            f"--{boundary}\r\n{body}--{boundary}--\r\n"
        )
    return (head + body).encode()


async def test_text_nested_deeper_than_the_limit_is_kept_with_the_original(
    client: httpx.AsyncClient, demo: Demo
) -> None:
    inbox_id = await email_inbox(demo, SUPPORT)
    await _deliver(SUPPORT, _nested(40, "My card was blocked at level forty"))
    (msg,) = await messages_of(inbox_id)
    assert "My card was blocked at level forty" in msg.text
    assert msg.meta.get("not_fully_read") is True
    names = [a.filename for a in await attachments_of(msg.id)]
    assert "original.eml" in names


async def test_a_subject_cut_at_998_characters_says_so(
    client: httpx.AsyncClient, demo: Demo
) -> None:
    inbox_id = await email_inbox(demo, SUPPORT)
    long_subject = "Loan " + "x" * 1500
    await _deliver(SUPPORT, letter("Hi", subject=long_subject))
    (msg,) = await messages_of(inbox_id)
    subject = msg.meta["subject"]
    assert len(subject) == 998 and subject.endswith("…")
    assert msg.meta.get("not_fully_read") is True


async def test_bidi_controls_cannot_turn_a_name_or_subject_around(
    client: httpx.AsyncClient, demo: Demo
) -> None:
    inbox_id = await email_inbox(demo, SUPPORT)
    raw = letter(
        "see attachment",
        sender="=?utf-8?b?"
        + __import__("base64").b64encode("Bank\u202eknaB".encode()).decode()
        + "?= <anna@customer.example>",
        subject="invoice \u202egpj.exe",
    )
    await _deliver(SUPPORT, raw)
    (msg,) = await messages_of(inbox_id)
    assert "\u202e" not in msg.meta["subject"]
    assert msg.meta["subject"] == "invoice gpj.exe"
    admin = await staff_token(client, "admin@demo.omniline", "demo-admin")
    r = await client.get(f"/api/v1/conversations/{msg.conversation_id}", headers=bearer(admin))
    assert "\u202e" not in r.text


def _bounce(original_id: str) -> bytes:
    return (
        "From: Mail Delivery System <MAILER-DAEMON@mx.example.com>\r\n"
        f"To: {MAILBOX}\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "Message-ID: <bounce-1@mx.example.com>\r\n"
        "Auto-Submitted: auto-replied\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="BB"\r\n\r\n'
        "--BB\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
        "--BB\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example.com\r\n\r\n"
        f"Final-Recipient: rfc822; {CUSTOMER}\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 user unknown\r\n\r\n"
        "--BB\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"From: {MAILBOX}\r\nTo: {CUSTOMER}\r\nMessage-ID: {original_id}\r\nSubject: Re: Hi\r\n"
        "--BB--\r\n"
    ).encode()


async def test_a_bounce_marks_the_reply_it_answers_as_failed(
    client: httpx.AsyncClient, demo: Demo, smtp_server: object
) -> None:
    inbox_id = await smtp_inbox(demo, smtp_settings(smtp_server))  # type: ignore[arg-type]
    conv_id = await customer_writes(demo, inbox_id, subject="Hi", text="Hi", message_id="<c1@x>")
    token = await staff_token(client, "agent@demo.omniline", "demo-agent")
    r = await client.post(
        f"/api/v1/conversations/{conv_id}/messages", json={"text": "Hello"}, headers=bearer(token)
    )
    msg_id = int(r.json()["id"])
    await run_jobs()
    sent = await message(msg_id)
    assert sent.delivery_status == "sent" and sent.external_id

    await _deliver(MAILBOX, _bounce(sent.external_id))
    failed = await message(msg_id)
    assert failed.delivery_status == "failed"
    assert "5.1.1" in (failed.delivery_error or "") and "user unknown" in (
        failed.delivery_error or ""
    )
    # The report's parts are not offered to the agent as refused files.
    for m in await messages_of(inbox_id):
        assert not m.meta.get("media_failed"), m.meta


async def test_the_agent_is_told_how_many_parts_are_not_listed(
    client: httpx.AsyncClient, demo: Demo
) -> None:
    from omniline.channels.email.parse import MAX_PARTS

    inbox_id = await email_inbox(demo, SUPPORT)
    files = [(f"scan-{i}.txt", "text/plain", f"page {i}".encode()) for i in range(MAX_PARTS + 7)]
    await _deliver(SUPPORT, letter("Documents attached", files=files))
    (msg,) = await messages_of(inbox_id)
    assert msg.meta["files_not_listed"] == 8  # the text part counts among the first MAX_PARTS
    assert "original.eml" in [a.filename for a in await attachments_of(msg.id)]
