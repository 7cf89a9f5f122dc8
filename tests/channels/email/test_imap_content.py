"""What a fetched letter looks like once stored: text, safe HTML, folded quote, files,
auto-replies left unanswered, routing by the address it was sent to."""

from __future__ import annotations

import base64

import pytest
from sqlalchemy import select

from omniline import db
from omniline.autoreplies import service as autoreplies
from omniline.autoreplies.schemas import RuleData
from omniline.channels.email import imap
from omniline.channels.email.models import MailboxState
from omniline.contacts.models import Contact, ContactIdentity
from omniline.conversations.models import AuthorType
from omniline.routing import rules
from omniline.workspaces import service as workspaces
from tests.channels.email.conftest import Dovecot, ImapAccount
from tests.channels.email.support import (
    LOANS,
    SUPPORT,
    attachments_of,
    contact,
    conversation,
    email_inbox,
    letter,
    messages_in,
    messages_of,
)
from tests.conftest import Demo

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="
)


async def mailbox(demo: Demo, account: ImapAccount, address: str = SUPPORT, **extra: object) -> int:
    return await email_inbox(demo, address, **account.settings(), **extra)


async def test_html_is_sanitised_and_the_quote_folded(
    demo: Demo, imap_account: ImapAccount
) -> None:
    inbox_id = await mailbox(demo, imap_account)
    html = (
        "<html><head><script>steal()</script></head><body>"
        "<p onclick='steal()'>Здравствуйте! Платёж <b>не прошёл</b>.</p>"
        "<a href='javascript:steal()'>link</a>"
        "<div>3 ноября 2026 г., в 10:00, MicroLend &lt;support@microlend.example&gt; "
        "написал(а):</div><blockquote>Добрый день, чем помочь?</blockquote></body></html>"
    )
    imap_account.append_many(
        [
            letter(None, html=html, subject="Платёж"),
            letter(
                "Thanks, it works now.\n\n-- \nAnna Petrova\nMicroLend customer\n\n"
                "On Mon, 3 Nov 2026 at 10:00, MicroLend <support@microlend.example> wrote:\n"
                "> Please try again.\n"
            ),
        ]
    )
    await imap.poll_once(inbox_id)
    russian, english = await messages_of(inbox_id)

    assert russian.text.startswith("Здравствуйте! Платёж не прошёл.")
    assert "Добрый день" not in russian.text and "Добрый день" in russian.meta["quoted"]
    assert "<b>не прошёл</b>" in russian.meta["html"]
    for bad in ("script", "steal", "onclick", "javascript"):
        assert bad not in russian.meta["html"]
    assert russian.meta["subject"] == "Платёж"

    assert english.text == "Thanks, it works now."
    assert english.meta["quoted"].startswith("-- \nAnna Petrova")
    assert "> Please try again." in english.meta["quoted"]
    assert "html" not in english.meta


async def test_attachments_are_kept_and_refused_ones_noted(
    demo: Demo, imap_account: ImapAccount
) -> None:
    inbox_id = await mailbox(demo, imap_account)
    imap_account.append(
        letter(
            "The contract and a screenshot are attached.",
            files=[
                ("screen.png", "image/png", PNG),
                ("contract.pdf", "application/pdf", b"%PDF-1.4 contract"),
                ("tool.exe", "application/x-msdownload", b"MZ binary"),
            ],
        )
    )
    await imap.poll_once(inbox_id)
    (msg,) = await messages_of(inbox_id)
    files = await attachments_of(msg.id)
    assert [(f.filename, f.content_type) for f in files] == [
        ("screen.png", "image/png"),
        ("contract.pdf", "application/pdf"),
    ]
    (refused,) = msg.meta["media_failed"]
    assert refused["filename"] == "tool.exe" and "not accepted" in refused["reason"]
    assert msg.text == "The contract and a screenshot are attached."


async def greeting_rule(demo: Demo, inbox_id: int) -> None:
    async with db.unit_of_work() as session:
        await autoreplies.do_create_rule(
            session,
            demo.workspace_id,
            RuleData(
                name="Greeting",
                kind="greeting",
                inbox_id=inbox_id,
                fallback_language="en",
                texts=[("en", "We got your letter.")],
            ),
        )


async def test_an_auto_reply_is_stored_but_not_answered(
    app: object, demo: Demo, imap_account: ImapAccount
) -> None:
    inbox_id = await mailbox(demo, imap_account)
    await greeting_rule(demo, inbox_id)
    imap_account.append_many(
        [
            letter("I am out of office.", headers={"Auto-Submitted": "auto-replied"}),
            letter("Undeliverable", sender="MAILER-DAEMON@mx.example", subject="Failure"),
            letter("Newsletter", headers={"Precedence": "bulk"}, sender="news@shop.example"),
            letter("A real question", sender="ivan@customer.example"),
        ]
    )
    await imap.poll_once(inbox_id)
    *automatic, real = [m for m in await messages_of(inbox_id) if m.direction == "in"]

    for msg in automatic:
        assert msg.meta["auto_submitted"] is True
        thread = await messages_in(msg.conversation_id)
        assert [m.author_type for m in thread] == [AuthorType.contact.value]
    assert "auto_submitted" not in real.meta
    thread = await messages_in(real.conversation_id)
    assert [m.text for m in thread] == ["A real question", "We got your letter."]


async def test_the_receiving_address_routes_the_letter(
    demo: Demo, imap_account: ImapAccount, dovecot: Dovecot
) -> None:
    other = dovecot.new_account()
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
    support_box = await mailbox(demo, imap_account, SUPPORT, aliases=[LOANS])
    loans_box = await mailbox(demo, other, "credit@microlend.example")
    # The support mailbox gets letters for its own address and for its alias; the second
    # mailbox's letter names the alias in Cc.
    imap_account.append_many(
        [letter("About my card", to=SUPPORT), letter("About my loan", to=f"Loans <{LOANS}>")]
    )
    other.append(letter("Copy", to="credit@microlend.example", message_id="<c@x.y>"))
    await imap.poll_once(support_box)
    await imap.poll_once(loans_box)

    card, loan = await messages_of(support_box)
    assert (await conversation(card.conversation_id)).queue_id != credit.id
    assert (await conversation(loan.conversation_id)).queue_id == credit.id
    (copy,) = await messages_of(loans_box)
    assert (await conversation(copy.conversation_id)).queue_id != credit.id


async def test_a_letter_from_a_known_verified_customer_finds_them(
    demo: Demo, imap_account: ImapAccount
) -> None:
    inbox_id = await mailbox(demo, imap_account)
    async with db.unit_of_work() as session:
        known = Contact(workspace_id=demo.workspace_id, name="Olena", verified=True, attributes={})
        session.add(known)
        await session.flush()
        session.add(
            ContactIdentity(
                workspace_id=demo.workspace_id,
                contact_id=known.id,
                channel="email",
                address="olena@customer.example",
            )
        )
        known_id = known.id
    imap_account.append_many(
        [
            letter("It's me", sender="Olena <Olena@customer.example>"),
            letter("A stranger", sender="someone@else.example"),
        ]
    )
    await imap.poll_once(inbox_id)
    mine, stranger = await messages_of(inbox_id)
    assert (await conversation(mine.conversation_id)).contact_id == known_id
    assert (await contact(known_id)).verified is True
    new = await contact((await conversation(stranger.conversation_id)).contact_id)
    assert new.verified is False and new.email == "someone@else.example"


async def test_a_letter_that_cannot_be_stored_is_passed_over(
    demo: Demo, imap_account: ImapAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox_id = await mailbox(demo, imap_account)
    real_prepare = imap.inbound.prepare

    def prepare(box, incoming, settings):  # type: ignore[no-untyped-def]
        if any(b"POISON" in inc.raw for inc in incoming):
            raise RuntimeError("a bug met this letter")
        return real_prepare(box, incoming, settings)

    monkeypatch.setattr(imap.inbound, "prepare", prepare)
    imap_account.append_many([letter("first"), letter("POISON"), letter("after it")])
    assert await imap.poll_once(inbox_id) == 2
    assert [m.text for m in await messages_of(inbox_id)] == ["first", "after it"]
    async with db.sessionmaker()() as session:
        state = await session.scalar(select(MailboxState).where(MailboxState.inbox_id == inbox_id))
    assert state is not None and state.last_uid == 3
    assert state.last_error == "letter UID 2 passed over: a bug met this letter"
