"""Building blocks of the email tests: letters as mail programs write them, email inboxes."""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any

from sqlalchemy import select

from omniline import db
from omniline.contacts.models import Contact
from omniline.conversations.models import Attachment, Conversation, Message
from omniline.inboxes import service as inboxes
from tests.conftest import Demo

SUPPORT = "support@microlend.example"
LOANS = "loans@microlend.example"


def letter(
    text: str | None = "Hello, my loan payment did not go through.",
    *,
    sender: str = "Anna Petrova <anna@customer.example>",
    to: str = SUPPORT,
    subject: str = "Payment problem",
    message_id: str | None = None,
    html: str | None = None,
    in_reply_to: str | None = None,
    references: str | None = None,
    files: list[tuple[str, str, bytes]] | None = None,
    headers: dict[str, str] | None = None,
) -> bytes:
    """A letter as bytes; ``message_id=""`` leaves the Message-ID header out."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(datetime.now().astimezone())
    if message_id != "":
        msg["Message-ID"] = message_id or make_msgid(domain="customer.example")
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
    if references:
        msg["References"] = references
    for name, value in (headers or {}).items():
        msg[name] = value
    if text is not None:
        msg.set_content(text)
    if html is not None:
        if text is None:
            msg.set_content(html, subtype="html")
        else:
            msg.add_alternative(html, subtype="html")
    for filename, ctype, data in files or []:
        maintype, subtype = ctype.split("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return msg.as_bytes()


async def email_inbox(
    demo: Demo,
    address: str = SUPPORT,
    *,
    aliases: list[str] | None = None,
    queue_id: int | None = None,
    **settings: Any,
) -> int:
    async with db.unit_of_work() as session:
        inbox = await inboxes.do_create_inbox(
            session,
            demo.workspace_id,
            channel="email",
            name=f"Mail {address}",
            default_queue_id=queue_id,
            settings={"address": address, "aliases": aliases or [], **settings},
        )
        return inbox.id


async def messages_of(inbox_id: int) -> list[Message]:
    async with db.sessionmaker()() as session:
        return list(
            await session.scalars(
                select(Message).where(Message.inbox_id == inbox_id).order_by(Message.id)
            )
        )


async def conversation(conv_id: int) -> Conversation:
    async with db.sessionmaker()() as session:
        conv = await session.get(Conversation, conv_id)
        assert conv is not None
        return conv


async def contact(contact_id: int) -> Contact:
    async with db.sessionmaker()() as session:
        found = await session.get(Contact, contact_id)
        assert found is not None
        return found


async def attachments_of(message_id: int) -> list[Attachment]:
    async with db.sessionmaker()() as session:
        return list(
            await session.scalars(
                select(Attachment)
                .where(Attachment.message_id == message_id)
                .order_by(Attachment.id)
            )
        )


async def messages_in(conv_id: int) -> list[Message]:
    async with db.sessionmaker()() as session:
        return list(
            await session.scalars(
                select(Message).where(Message.conversation_id == conv_id).order_by(Message.id)
            )
        )
