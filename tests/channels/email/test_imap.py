"""Letters in a real IMAP mailbox (dovecot) become conversations, each exactly once."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
from sqlalchemy import select

from omniline import db
from omniline.channels.email import imap, threading
from omniline.channels.email.imap_client import ImapError
from omniline.channels.email.models import MailboxState
from omniline.conversations.models import Status
from tests.channels.email.conftest import ImapAccount
from tests.channels.email.support import (
    SUPPORT,
    contact,
    conversation,
    email_inbox,
    letter,
    messages_in,
    messages_of,
)
from tests.conftest import Demo


async def mailbox(demo: Demo, account: ImapAccount, folder: str = "INBOX") -> int:
    return await email_inbox(demo, SUPPORT, **account.settings(folder))


async def state(inbox_id: int) -> MailboxState:
    async with db.sessionmaker()() as session:
        found = await session.scalar(select(MailboxState).where(MailboxState.inbox_id == inbox_id))
        assert found is not None
        return found


async def test_letters_become_conversations_once_across_restarts(
    demo: Demo, imap_account: ImapAccount
) -> None:
    inbox_id = await mailbox(demo, imap_account)
    imap_account.append_many(
        [
            letter("My card was blocked.", sender="Anna <Anna@Customer.example>"),
            letter("Where is my refund?", sender="Boris <boris@customer.example>"),
        ]
    )

    assert await imap.poll_once(inbox_id) == 2
    # A restart (a new connection, positions read back from the database) fetches nothing.
    assert await imap.poll_once(inbox_id) == 0
    imap_account.append(letter("One more thing: the app crashes.", sender="boris@customer.example"))
    assert await imap.poll_once(inbox_id) == 1

    msgs = await messages_of(inbox_id)
    assert [m.text for m in msgs] == [
        "My card was blocked.",
        "Where is my refund?",
        "One more thing: the app crashes.",
    ]
    # Every new letter (without In-Reply-To) is a new thread, even from the same customer.
    assert len({m.conversation_id for m in msgs}) == 3
    first = await conversation(msgs[0].conversation_id)
    assert first.channel == "email" and first.contact_address == "anna@customer.example"
    assert first.status == Status.queued.value
    who = await contact(first.contact_id)
    assert (who.name, who.email, who.verified) == ("Anna", "anna@customer.example", False)
    assert msgs[0].meta["subject"] == "Payment problem"
    assert (await state(inbox_id)).last_uid == 3


async def test_a_reply_lands_in_its_conversation(demo: Demo, imap_account: ImapAccount) -> None:
    inbox_id = await mailbox(demo, imap_account)
    imap_account.append(letter("First letter", message_id="<first@customer.example>"))
    await imap.poll_once(inbox_id)
    (first,) = await messages_of(inbox_id)

    # One reply names the first letter in In-Reply-To; a second only in References (and it
    # arrives in the same fetch as the first reply).
    imap_account.append_many(
        [
            letter("Any news?", in_reply_to="<first@customer.example>", message_id="<r1@c.x>"),
            letter("Hello?", references="<first@customer.example> <r1@c.x>"),
            letter("A different matter", subject="New card"),
        ]
    )
    assert await imap.poll_once(inbox_id) == 3
    msgs = await messages_of(inbox_id)
    assert [m.conversation_id for m in msgs[:3]] == [first.conversation_id] * 3
    assert msgs[3].conversation_id != first.conversation_id
    assert msgs[1].meta["email"]["references"] == ["first@customer.example"]


async def test_subject_token_threads_a_reply_without_headers(
    demo: Demo, imap_account: ImapAccount
) -> None:
    inbox_id = await mailbox(demo, imap_account)
    imap_account.append(letter("Question", sender="anna@customer.example"))
    await imap.poll_once(inbox_id)
    (first,) = await messages_of(inbox_id)
    token = threading.subject_token(first.conversation_id)

    imap_account.append_many(
        [
            letter("Thanks!", subject=f"Re: Payment problem {token}"),
            # Someone else using the token starts their own conversation.
            letter("Let me in", subject=f"Re: {token}", sender="mallory@elsewhere.example"),
        ]
    )
    await imap.poll_once(inbox_id)
    msgs = await messages_of(inbox_id)
    assert msgs[1].conversation_id == first.conversation_id
    assert msgs[2].conversation_id != first.conversation_id


async def test_a_reply_to_a_resolved_conversation_reopens_it(
    demo: Demo, imap_account: ImapAccount
) -> None:
    from omniline.conversations.models import Conversation

    inbox_id = await mailbox(demo, imap_account)
    imap_account.append(letter("Question", message_id="<q@customer.example>"))
    await imap.poll_once(inbox_id)
    (first,) = await messages_of(inbox_id)
    async with db.unit_of_work() as session:
        conv = await session.get(Conversation, first.conversation_id)
        assert conv is not None
        conv.status = Status.resolved.value

    imap_account.append(letter("It happened again", in_reply_to="<q@customer.example>"))
    await imap.poll_once(inbox_id)
    assert (await conversation(first.conversation_id)).status == Status.queued.value
    assert len(await messages_in(first.conversation_id)) == 2


async def test_bad_letters_are_stored_and_the_mail_behind_them_arrives(
    demo: Demo, imap_account: ImapAccount
) -> None:
    inbox_id = await mailbox(demo, imap_account)
    broken = (
        b"From: Ivan <ivan@customer.example>\r\nSubject: broken\r\n"
        b'Content-Type: multipart/mixed; boundary="zz"\r\n\r\n'
        b"--zz\r\nContent-Type: text/plain; charset=x-no-such-charset\r\n\r\n"
        b"\xcf\xf0\xe8\xe2\xe5\xf2 money gone\r\n--zz\r\nContent-Type: image/png\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n!!!not base64\r\n"
    )
    huge = letter(None, html="<p>" + "spam " * 4_500_000 + "</p>", subject="Huge")
    imap_account.append_many([broken, huge, letter("I am the letter behind them")])

    assert await imap.poll_once(inbox_id) == 3
    bad, big, good = await messages_of(inbox_id)
    assert "money gone" in bad.text
    assert bad.meta["subject"] == "broken"
    assert big.text.startswith("spam spam") and len(big.text) <= 100_000
    assert good.text == "I am the letter behind them"
    # The unreadable letter is kept whole as a file; the 22 MB one is over the limit: noted.
    from tests.channels.email.support import attachments_of

    assert "original.eml" in [a.filename for a in await attachments_of(bad.id)]
    assert {"filename": "original.eml"}.items() <= big.meta["media_failed"][0].items()


async def test_a_renumbered_folder_is_read_again_without_duplicates(
    demo: Demo, imap_account: ImapAccount
) -> None:
    folder = "Support"
    inbox_id = await mailbox(demo, imap_account, folder)
    imap_account.append(letter("Before", message_id="<before@customer.example>"), folder)
    assert await imap.poll_once(inbox_id) == 1
    before = (await state(inbox_id)).uidvalidity

    imap_account.recreate(folder)  # the server hands out a new UIDVALIDITY, UIDs from 1
    imap_account.append_many(
        [letter("Before", message_id="<before@customer.example>"), letter("After")], folder
    )
    assert await imap.poll_once(inbox_id) == 1
    assert [m.text for m in await messages_of(inbox_id)] == ["Before", "After"]
    assert (await state(inbox_id)).uidvalidity != before


async def test_connection_problems_are_reported(demo: Demo, imap_account: ImapAccount) -> None:
    wrong = dict(imap_account.settings(), imap_password="wrong")
    inbox_id = await email_inbox(demo, SUPPORT, **wrong)
    with pytest.raises(ImapError, match="refused the login"):
        await imap.poll_once(inbox_id)

    closed = dict(imap_account.settings(), imap_port=1)
    inbox_id = await email_inbox(demo, "other@microlend.example", **closed)
    with pytest.raises(ImapError, match="could not connect"):
        await imap.poll_once(inbox_id)


async def test_the_background_loop_follows_the_mailbox(
    demo: Demo, imap_account: ImapAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(imap, "REREAD_SECONDS", 0.2)
    monkeypatch.setattr(imap, "RETRY_MIN", 0.2)
    wrong = dict(imap_account.settings(), imap_password="wrong")
    inbox_id = await email_inbox(demo, SUPPORT, **wrong)
    loop = asyncio.create_task(imap.supervise())
    try:
        # A wrong password is recorded for the admin page, and the loop keeps trying.
        await _until(lambda: _error_of(inbox_id), "the login error is recorded")
        assert "refused the login" in (await state(inbox_id)).last_error  # type: ignore[operator]
        # The admin fixes the password: the supervisor notices and the mail arrives (IDLE).
        from omniline.inboxes.models import Inbox

        async with db.unit_of_work() as session:
            inbox = await session.get(Inbox, inbox_id)
            assert inbox is not None
            inbox.settings = dict(inbox.settings, imap_password=imap_account.password)
        imap_account.append(letter("Hello from the loop"))
        await _until(lambda: _count(inbox_id, 1), "the first letter arrives")
        imap_account.append(letter("And a second one"))
        await _until(lambda: _count(inbox_id, 2), "the second letter arrives during IDLE")
        assert (await state(inbox_id)).last_error is None
    finally:
        loop.cancel()
        with pytest.raises(asyncio.CancelledError):
            await loop


async def _error_of(inbox_id: int) -> bool:
    async with db.sessionmaker()() as session:
        found = await session.scalar(select(MailboxState).where(MailboxState.inbox_id == inbox_id))
        return found is not None and bool(found.last_error)


async def _count(inbox_id: int, n: int) -> bool:
    return len(await messages_of(inbox_id)) >= n


async def _until(check: Callable[[], Awaitable[bool]], what: str) -> None:
    for _ in range(300):
        if await check():
            return
        await asyncio.sleep(0.05)
    pytest.fail(f"timed out waiting until {what}")


async def test_our_own_letters_coming_back_are_not_stored(
    demo: Demo, imap_account: ImapAccount
) -> None:
    inbox_id = await mailbox(demo, imap_account)
    imap_account.append(letter("Question", message_id="<q1@customer.example>"))
    await imap.poll_once(inbox_id)
    (question,) = await messages_of(inbox_id)
    # The agent's reply went out by SMTP and was remembered; a copy lands in the mailbox
    # (a Bcc to the support address, a mail server that files sent mail in INBOX).
    async with db.unit_of_work() as session:
        await threading.remember(
            session,
            demo.workspace_id,
            "<reply-1@microlend.example>",
            question.conversation_id,
            None,
        )
    imap_account.append_many(
        [
            letter("Our answer", sender=SUPPORT, message_id="<reply-1@microlend.example>"),
            letter("Thanks!", in_reply_to="<reply-1@microlend.example>"),
        ]
    )
    assert await imap.poll_once(inbox_id) == 1
    assert [m.text for m in await messages_in(question.conversation_id)] == ["Question", "Thanks!"]
