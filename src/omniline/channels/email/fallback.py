"""Offline fallback: a web-chat visitor who has left gets the agent's reply by email.

A web-chat (or mobile) inbox may name an email inbox of its workspace
(``fallback_email_inbox_id``) and a number of minutes (``fallback_after_minutes``). When an
agent answers and the visitor, whose email is known, has had no live connection for that
long, the reply also goes out as a letter from that mailbox. Its Message-ID is remembered
for the web-chat conversation, so the customer's email answer lands in the same chat.

Liveness comes from ``contact_identities.live_until``: the widget's socket keeps pushing it
forward while it is open and sets it to the time it closed.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.channels.email import sender
from omniline.contacts.models import Contact, ContactIdentity
from omniline.conversations import notify, repository
from omniline.conversations.models import AuthorType, Conversation, Delivery, Direction, Message
from omniline.inboxes.models import Inbox
from omniline.jobs.registry import job
from omniline.jobs.service import enqueue
from omniline.kit.clock import utcnow
from omniline.kit.hooks import DomainEvent
from omniline.workspaces.models import Workspace

log = logging.getLogger(__name__)

CHAT_CHANNELS = ("webchat", "mobile")
DEFAULT_AFTER_MINUTES = 5
JOB = "email_fallback"


def N_(message: str) -> str:
    return message


SUBJECT = N_("New reply to your chat with %(name)s")
FOOTER = N_("You can answer this letter: your reply reaches the same chat.")


class FallbackNotSent(Exception):
    """A passing SMTP problem: the job runs again later."""


def fallback_mailbox_id(chat_inbox: Inbox) -> int | None:
    raw = (chat_inbox.settings or {}).get("fallback_email_inbox_id")
    try:
        return int(raw) if raw not in (None, "") else None
    except (TypeError, ValueError):
        return None


def after_minutes(chat_inbox: Inbox) -> float:
    raw = (chat_inbox.settings or {}).get("fallback_after_minutes")
    try:
        value = float(raw) if raw not in (None, "") else DEFAULT_AFTER_MINUTES
    except (TypeError, ValueError):
        value = DEFAULT_AFTER_MINUTES
    return max(value, 0.0)


async def on_message_created(session: AsyncSession, event: DomainEvent) -> None:
    """An agent's public reply in a chat whose inbox has a fallback mailbox: queue the check."""
    data = event.data
    if (
        data.get("direction") != Direction.outbound.value
        or data.get("private")
        or data.get("author_type") != AuthorType.agent.value
    ):
        return
    conv = await session.get(Conversation, int(data["conversation_id"]))
    if conv is None or conv.channel not in CHAT_CHANNELS:
        return
    chat_inbox = await session.get(Inbox, conv.inbox_id)
    if chat_inbox is None or fallback_mailbox_id(chat_inbox) is None:
        return
    await enqueue(
        session, JOB, {"message_id": int(data["message_id"])}, workspace_id=conv.workspace_id
    )


async def _mailbox(session: AsyncSession, chat_inbox: Inbox) -> Inbox | None:
    mailbox_id = fallback_mailbox_id(chat_inbox)
    mailbox = await session.get(Inbox, mailbox_id) if mailbox_id else None
    if (
        mailbox is None
        or mailbox.channel != "email"
        or mailbox.workspace_id != chat_inbox.workspace_id
        or not mailbox.enabled
    ):
        return None
    return mailbox


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


async def last_live(session: AsyncSession, contact_id: int) -> datetime | None:
    """Until when any of the contact's connections was last known to be open."""
    value = await session.scalar(
        select(func.max(ContactIdentity.live_until)).where(ContactIdentity.contact_id == contact_id)
    )
    return _aware(value) if value is not None else None


def email_due(last: datetime | None, written_at: datetime, minutes: float) -> datetime | None:
    """When the reply should be emailed, or None when the visitor was there to see it.

    A visitor connected when the reply was written (or since) has it in the widget. One
    who had left gets the letter once they have been away ``minutes``; one never seen
    connected gets it at once.
    """
    if last is None:
        return _aware(written_at)
    if last >= _aware(written_at):
        return None
    return last + timedelta(minutes=minutes)


def _locale(contact: Contact, conv: Conversation, ws: Workspace | None) -> str:
    for value in (contact.language, conv.language, ws.default_locale if ws else None):
        if value in ("en", "ru", "uk"):
            return value
    return "en"


def letter_text(locale: str, text: str) -> str:
    from omniline.web.i18n import gettext

    return f"{text}\n\n-- \n{gettext(locale, FOOTER)}\n"


def letter_subject(locale: str, name: str, conversation_id: int) -> str:
    from omniline.web.i18n import gettext

    return sender.with_token(gettext(locale, SUBJECT) % {"name": name}, conversation_id)


@job(JOB)
async def email_fallback(session: AsyncSession, payload: dict[str, Any]) -> None:
    msg = await session.get(Message, int(payload["message_id"]))
    if msg is None or msg.private or (msg.meta or {}).get("sent_by_email"):
        return
    conv = await session.get(Conversation, msg.conversation_id)
    chat_inbox = await session.get(Inbox, conv.inbox_id) if conv else None
    if conv is None or chat_inbox is None:
        return
    mailbox = await _mailbox(session, chat_inbox)
    contact = await session.get(Contact, conv.contact_id)
    address = (contact.email or "").strip() if contact else ""
    if mailbox is None or contact is None or "@" not in address:
        return
    due = email_due(await last_live(session, contact.id), msg.created_at, after_minutes(chat_inbox))
    if due is None:
        return
    if due > utcnow():
        # Left only a moment ago: look again when the wait is over (they may come back).
        await enqueue(session, JOB, payload, run_at=due, workspace_id=conv.workspace_id)
        return
    await _send(session, msg, conv, mailbox, contact, address)


async def _send(
    session: AsyncSession,
    msg: Message,
    conv: Conversation,
    mailbox: Inbox,
    contact: Contact,
    address: str,
) -> None:
    ws = await session.get(Workspace, conv.workspace_id)
    locale = _locale(contact, conv, ws)
    out = sender.Outgoing(
        to=address,
        subject=letter_subject(locale, ws.name if ws else mailbox.name, conv.id),
        text=letter_text(locale, msg.text),
    )
    result = await sender.send_letter(session, msg, conv, mailbox, out)
    if result.status != Delivery.sent:
        if not result.permanent:
            raise FallbackNotSent(result.error or "the letter was not sent")
        # Trying again cannot help (wrong password, address refused): the agent sees why.
        log.warning("email fallback of message %s not sent: %s", msg.id, result.error)
        msg.meta = {**(msg.meta or {}), "email": {"fallback_error": result.error}}
    else:
        msg.meta = {**(msg.meta or {}), "sent_by_email": address}
    await session.flush()
    atts = (await repository.attachments_for(session, [msg.id])).get(msg.id, [])
    notify.message_status(session, conv, msg, atts)
