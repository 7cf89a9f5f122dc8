"""Agents' replies leave as letters: what the customer's mail server receives, and what the
agent sees on the message when the server refuses or cannot be reached."""

from __future__ import annotations

from email.message import Message as MimeMessage
from email.utils import parseaddr

import httpx

from omniline import db
from omniline.channels.email import threading
from omniline.conversations.models import AuthorType, Conversation
from omniline.conversations.system_messages import do_send_system_message
from tests.channels.email.conftest import SmtpSink
from tests.channels.email.test_outbound_support import (
    CUSTOMER,
    MAILBOX,
    customer_writes,
    email_inbox,
    message,
    pending_jobs,
    run_jobs,
    smtp_settings,
)
from tests.conftest import Demo, bearer, free_port, staff_token

CUSTOMER_ID = "<CAF=first.letter@mail.example.com>"


async def agent(client: httpx.AsyncClient) -> dict[str, str]:
    return bearer(await staff_token(client, "agent@demo.omniline", "demo-agent"))


async def reply(client: httpx.AsyncClient, conv_id: int, text: str) -> int:
    r = await client.post(
        f"/api/v1/conversations/{conv_id}/messages",
        json={"text": text},
        headers=await agent(client),
    )
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def parts(letter: MimeMessage) -> dict[str, str]:
    found: dict[str, str] = {}
    for part in letter.walk():
        if part.get_content_maintype() == "multipart":
            continue
        name = part.get_filename() or part.get_content_type()
        payload = part.get_payload(decode=True)
        assert isinstance(payload, bytes)
        text = payload.decode(part.get_content_charset() or "utf-8", "replace")
        found[name] = text.replace("\r\n", "\n")
    return found


async def test_reply_is_a_threaded_letter_from_the_mailbox(
    client: httpx.AsyncClient, demo: Demo, smtp_server: SmtpSink
) -> None:
    inbox_id = await email_inbox(demo, smtp_settings(smtp_server))
    conv_id = await customer_writes(
        demo, inbox_id, subject="Loan question", text="Can I repay early?", message_id=CUSTOMER_ID
    )
    text = "Yes, you can.\nNo fee applies for <early> repayment & nothing else."
    msg_id = await reply(client, conv_id, text)
    await run_jobs()

    (sent,) = smtp_server.letters
    assert sent.rcpt_tos == [CUSTOMER]
    assert sent.mail_from == MAILBOX
    letter = sent.message
    assert parseaddr(letter["From"]) == ("MicroLend Support", MAILBOX)
    assert letter["To"] == CUSTOMER
    assert letter["Subject"] == f"Re: Loan question [#{conv_id}]"
    assert letter["In-Reply-To"] == "<CAF=first.letter@mail.example.com>"
    assert "<CAF=first.letter@mail.example.com>" in letter["References"]
    assert letter["Message-ID"].endswith("@microlend.test>")
    assert letter["Auto-Submitted"] is None  # a person wrote it
    assert letter.get_content_type() == "multipart/alternative"
    bodies = parts(letter)
    assert bodies["text/plain"].strip() == text
    html = bodies["text/html"]
    assert "Yes, you can.<br>" in html
    assert "&lt;early&gt; repayment &amp; nothing else" in html
    assert "<early>" not in html

    stored = await message(msg_id)
    assert stored.delivery_status == "sent"
    assert stored.delivery_error is None
    assert stored.external_id == letter["Message-ID"].strip()
    # The customer's answer to this letter threads back into the conversation.
    async with db.sessionmaker()() as session:
        found = await threading.find_conversation(
            session, demo.workspace_id, letter["Message-ID"], None, "Re: something else"
        )
    assert found == conv_id


async def test_second_reply_names_the_whole_thread(
    client: httpx.AsyncClient, demo: Demo, smtp_server: SmtpSink
) -> None:
    inbox_id = await email_inbox(demo, smtp_settings(smtp_server))
    conv_id = await customer_writes(
        demo, inbox_id, subject="Loan question", text="Hello", message_id=CUSTOMER_ID
    )
    await reply(client, conv_id, "First answer")
    await run_jobs()
    first_id = smtp_server.letters[0].message["Message-ID"].strip()
    # The customer answers the agent's letter, changing the subject on the way.
    await customer_writes(
        demo,
        inbox_id,
        subject=f"RE: Re: Loan question (contract 17) [#{conv_id}]",
        text="Thanks, and the fee?",
        message_id="<second@mail.example.com>",
    )
    await reply(client, conv_id, "Second answer")
    await run_jobs()

    second = smtp_server.letters[1].message
    assert second["Subject"] == f"Re: Loan question (contract 17) [#{conv_id}]"
    assert second["In-Reply-To"] == "<second@mail.example.com>"
    refs = second["References"].split()
    assert refs == ["<CAF=first.letter@mail.example.com>", first_id, refs[-1]]
    assert refs[-1] == "<second@mail.example.com>"
    assert second["Message-ID"].strip() != first_id


async def test_files_of_the_reply_are_attached(
    client: httpx.AsyncClient, demo: Demo, smtp_server: SmtpSink
) -> None:
    inbox_id = await email_inbox(demo, smtp_settings(smtp_server))
    conv_id = await customer_writes(
        demo, inbox_id, subject="Statement", text="Please send it", message_id=CUSTOMER_ID
    )
    r = await client.post(
        f"/api/v1/conversations/{conv_id}/attachments",
        data={"text": "Your statement is attached."},
        files={"file": ("statement.csv", b"date,amount\n2024-05-01,1500\n", "text/csv")},
        headers=await agent(client),
    )
    assert r.status_code == 201, r.text
    await run_jobs()

    letter = smtp_server.letters[0].message
    assert letter.get_content_type() == "multipart/mixed"
    bodies = parts(letter)
    assert bodies["statement.csv"] == "date,amount\n2024-05-01,1500\n"
    assert bodies["text/plain"].strip() == "Your statement is attached."
    assert "text/html" in bodies


async def test_automatic_messages_are_marked_so_robots_do_not_answer(
    demo: Demo, smtp_server: SmtpSink
) -> None:
    inbox_id = await email_inbox(demo, smtp_settings(smtp_server))
    conv_id = await customer_writes(
        demo, inbox_id, subject="Hello", text="Anyone there?", message_id=CUSTOMER_ID
    )
    async with db.unit_of_work() as session:
        conv = await session.get(Conversation, conv_id)
        assert conv is not None
        await do_send_system_message(
            session, conv, "We received your letter.", author_type=AuthorType.bot.value
        )
    await run_jobs()

    letter = smtp_server.letters[0].message
    assert letter["Auto-Submitted"] == "auto-replied"
    assert letter["Subject"] == f"Re: Hello [#{conv_id}]"
    assert parts(letter)["text/plain"].strip() == "We received your letter."


async def test_login_with_the_right_password(
    client: httpx.AsyncClient, demo: Demo, smtp_server_login: SmtpSink
) -> None:
    sink = smtp_server_login
    settings = smtp_settings(sink, smtp_username=sink.username, smtp_password=sink.password)
    inbox_id = await email_inbox(demo, settings)
    conv_id = await customer_writes(demo, inbox_id, subject="Hi", text="Hi", message_id=CUSTOMER_ID)
    msg_id = await reply(client, conv_id, "Hello!")
    await run_jobs()
    assert sink.logins == [sink.username]
    assert len(sink.letters) == 1
    assert (await message(msg_id)).delivery_status == "sent"


async def test_wrong_password_fails_for_good_with_a_clear_reason(
    client: httpx.AsyncClient, demo: Demo, smtp_server_login: SmtpSink
) -> None:
    sink = smtp_server_login
    settings = smtp_settings(sink, smtp_username=sink.username, smtp_password="not-it")
    inbox_id = await email_inbox(demo, settings)
    conv_id = await customer_writes(demo, inbox_id, subject="Hi", text="Hi", message_id=CUSTOMER_ID)
    msg_id = await reply(client, conv_id, "Hello!")
    await run_jobs()

    stored = await message(msg_id)
    assert stored.delivery_status == "failed"
    assert "wrong user name or password" in (stored.delivery_error or "")
    assert sink.letters == []
    assert await pending_jobs("deliver_message") == []  # retrying cannot help


async def test_unknown_recipient_fails_for_good_with_the_servers_words(
    client: httpx.AsyncClient, demo: Demo, smtp_server: SmtpSink
) -> None:
    smtp_server.refuse[CUSTOMER] = "550 5.1.1 <taras@example.com>: no such mailbox here"
    inbox_id = await email_inbox(demo, smtp_settings(smtp_server))
    conv_id = await customer_writes(demo, inbox_id, subject="Hi", text="Hi", message_id=CUSTOMER_ID)
    msg_id = await reply(client, conv_id, "Hello!")
    await run_jobs()

    stored = await message(msg_id)
    assert stored.delivery_status == "failed"
    assert "550" in (stored.delivery_error or "")
    assert "no such mailbox here" in (stored.delivery_error or "")
    assert await pending_jobs("deliver_message") == []


async def test_a_busy_server_is_tried_again(
    client: httpx.AsyncClient, demo: Demo, smtp_server: SmtpSink
) -> None:
    smtp_server.refuse[CUSTOMER] = "451 4.3.0 greylisted, try again later"
    inbox_id = await email_inbox(demo, smtp_settings(smtp_server))
    conv_id = await customer_writes(demo, inbox_id, subject="Hi", text="Hi", message_id=CUSTOMER_ID)
    msg_id = await reply(client, conv_id, "Hello!")
    await run_jobs()

    stored = await message(msg_id)
    assert stored.delivery_status == "retrying"  # not "failed": it is tried again
    assert "greylisted" in (stored.delivery_error or "")
    (retry,) = await pending_jobs("deliver_message")
    assert retry.payload["message_id"] == msg_id
    assert retry.payload["attempt"] == 2


async def test_an_unreachable_server_is_tried_again(client: httpx.AsyncClient, demo: Demo) -> None:
    settings = {
        "address": MAILBOX,
        "smtp_host": "127.0.0.1",
        "smtp_port": free_port(),  # nothing listens there
        "smtp_security": "none",
    }
    inbox_id = await email_inbox(demo, settings)
    conv_id = await customer_writes(demo, inbox_id, subject="Hi", text="Hi", message_id=CUSTOMER_ID)
    msg_id = await reply(client, conv_id, "Hello!")
    await run_jobs()

    stored = await message(msg_id)
    assert stored.delivery_status == "retrying"  # not "failed": it is tried again
    assert "cannot be reached" in (stored.delivery_error or "")
    assert len(await pending_jobs("deliver_message")) == 1


async def test_settings_asking_for_starttls_the_server_lacks_fail_for_good(
    client: httpx.AsyncClient, demo: Demo, smtp_server: SmtpSink
) -> None:
    inbox_id = await email_inbox(demo, smtp_settings(smtp_server, smtp_security="starttls"))
    conv_id = await customer_writes(demo, inbox_id, subject="Hi", text="Hi", message_id=CUSTOMER_ID)
    msg_id = await reply(client, conv_id, "Hello!")
    await run_jobs()

    stored = await message(msg_id)
    assert stored.delivery_status == "failed"
    assert "STARTTLS" in (stored.delivery_error or "")
    assert smtp_server.letters == []
    assert await pending_jobs("deliver_message") == []


async def test_a_letter_sent_again_after_a_crash_has_the_same_message_id(
    client: httpx.AsyncClient, demo: Demo, smtp_server: SmtpSink
) -> None:
    """The worker sent the letter and died before marking it sent: the job runs again, and the
    customer's mail program shows the two copies as one letter."""
    from sqlalchemy import update

    from omniline.conversations.models import Message
    from omniline.jobs.service import enqueue

    inbox_id = await email_inbox(demo, smtp_settings(smtp_server))
    conv_id = await customer_writes(demo, inbox_id, subject="Hi", text="Hi", message_id=CUSTOMER_ID)
    msg_id = await reply(client, conv_id, "Hello again")
    await run_jobs()
    async with db.unit_of_work() as session:
        await session.execute(
            update(Message).where(Message.id == msg_id).values(delivery_status="queued")
        )
        await enqueue(session, "deliver_message", {"message_id": msg_id, "attempt": 1})
    await run_jobs()
    ids = [letter.message["Message-ID"].strip() for letter in smtp_server.letters]
    assert len(ids) == 2
    assert ids[0] == ids[1]
    assert f"omniline.{msg_id}." in ids[0]


async def test_sending_a_retrying_reply_by_hand_moves_the_attempt_never_adds_one(
    client: httpx.AsyncClient, demo: Demo, smtp_server: SmtpSink
) -> None:
    smtp_server.refuse[CUSTOMER] = "451 4.3.0 greylisted, try again later"
    inbox_id = await email_inbox(demo, smtp_settings(smtp_server))
    conv_id = await customer_writes(demo, inbox_id, subject="Hi", text="Hi", message_id=CUSTOMER_ID)
    msg_id = await reply(client, conv_id, "Hello!")
    await run_jobs()
    assert (await message(msg_id)).delivery_status == "retrying"
    (scheduled,) = await pending_jobs("deliver_message")

    token = await staff_token(client, "agent@demo.omniline", "demo-agent")
    for _ in range(3):  # an impatient agent clicks three times
        r = await client.post(
            f"/api/v1/conversations/{conv_id}/messages/{msg_id}/retry", headers=bearer(token)
        )
        assert r.status_code in (200, 409), r.text
    (pending,) = await pending_jobs("deliver_message")
    assert pending.id == scheduled.id

    del smtp_server.refuse[CUSTOMER]
    await run_jobs()
    assert (await message(msg_id)).delivery_status == "sent"
    assert len(smtp_server.letters) == 1


async def test_a_letter_taken_before_the_database_went_away_is_not_sent_again(
    client: httpx.AsyncClient, demo: Demo, smtp_server: SmtpSink
) -> None:
    """bench/faults.py, PostgreSQL killed: the SMTP server took the letter, the job's commit
    failed, and the job's next run in the same worker sent it a second time."""
    from omniline.conversations.delivery import deliver_message

    inbox_id = await email_inbox(demo, smtp_settings(smtp_server))
    conv_id = await customer_writes(demo, inbox_id, subject="Hi", text="Hi", message_id=CUSTOMER_ID)
    msg_id = await reply(client, conv_id, "Your payment is through")
    async with db.sessionmaker()() as session:
        await deliver_message(session, {"message_id": msg_id})
        await session.rollback()  # the commit never happened: the database went away
    assert len(smtp_server.letters) == 1

    await run_jobs()  # the job again, once the database answers
    assert len(smtp_server.letters) == 1
    assert (await message(msg_id)).delivery_status == "sent"
    # The Message-ID is still remembered, so the customer's answer threads back.
    from sqlalchemy import select

    from omniline.channels.email.models import EmailRef

    async with db.sessionmaker()() as session:
        refs = list(await session.scalars(select(EmailRef).where(EmailRef.message_id == msg_id)))
    assert [r.conversation_id for r in refs] == [conv_id]


async def test_a_letter_whose_worker_died_mid_send_goes_again_with_the_same_message_id(
    client: httpx.AsyncClient, demo: Demo, smtp_server: SmtpSink
) -> None:
    """Issue 9, item 16: email is safe to send again (the mail program shows one letter per
    Message-ID), so a job taken over from a killed worker sends it again, unlike Telegram."""
    from sqlalchemy import select, update

    from omniline.channels.email import sender as email_sender
    from omniline.conversations.delivery import deliver_message
    from omniline.jobs.models import Job
    from omniline.jobs.runner import Runner
    from omniline.kit.clock import utcnow

    inbox_id = await email_inbox(demo, smtp_settings(smtp_server))
    conv_id = await customer_writes(demo, inbox_id, subject="Hi", text="Hi", message_id=CUSTOMER_ID)
    msg_id = await reply(client, conv_id, "Your payment is through")
    dying = Runner()
    claimed = await dying.claim()
    async with db.sessionmaker()() as session:
        jobs = (await session.scalars(select(Job).where(Job.id.in_(claimed)))).all()
    (payload,) = [dict(j.payload) for j in jobs if j.payload.get("message_id") == msg_id]
    async with db.sessionmaker()() as session:
        await deliver_message(session, payload)
        await session.rollback()  # killed before the commit
    email_sender._unrecorded.clear()  # and its memory is gone
    await dying.stop()
    async with db.unit_of_work() as session:
        await session.execute(update(Job).where(Job.id.in_(claimed)).values(locked_until=utcnow()))

    await run_jobs()  # another runner takes the job over
    ids = [letter.message["Message-ID"].strip() for letter in smtp_server.letters]
    assert len(ids) == 2 and ids[0] == ids[1]
    assert (await message(msg_id)).delivery_status == "sent"
