"""Widget sessions: anonymous visitors and customers the lender's site vouches for."""

from __future__ import annotations

import hmac
import time
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from omniline.auth.principal import Visitor
from omniline.auth.tokens import identity_signature, issue_visitor_token, read_visitor_token
from omniline.config import Settings
from omniline.contacts import repository as contacts_repo
from omniline.contacts import service as contacts
from omniline.contacts.models import Contact
from omniline.conversations import repository as conversations
from omniline.conversations.models import OPEN_STATUSES
from omniline.errors import DomainError, NotFound, Unauthorized
from omniline.inboxes import repository as inboxes
from omniline.inboxes.models import Inbox
from omniline.kit.clock import iso, utcnow

CHANNEL = "webchat"


def greeting_for(settings: dict[str, Any], language: str | None) -> str:
    """The widget's greeting in the visitor's language when the inbox has one (``greetings``),
    else the inbox's default greeting."""
    greetings = settings.get("greetings")
    code = (language or "").lower()
    if isinstance(greetings, dict) and code:
        text = greetings.get(code) or greetings.get(code.split("-")[0])
        if isinstance(text, str) and text.strip():
            return text
    return str(settings.get("greeting") or "")


async def inbox_by_key(session: AsyncSession, key: str) -> Inbox:
    inbox = await inboxes.by_key(session, key)
    if inbox is None or not inbox.enabled or inbox.channel not in (CHANNEL, "mobile"):
        raise NotFound("unknown inbox key")
    return inbox


# How far ahead a signed identity may expire: the site signs it when it renders a page for a
# logged-in customer, so hours are plenty; a signature that never expires is a leak for ever.
IDENTITY_MAX_SECONDS = 7 * 86400
# Clocks of the lender's server and ours may differ a little.
CLOCK_SKEW_SECONDS = 120


def check_identity(inbox: Inbox, identity: dict[str, Any], now: float) -> None:
    """The signature must cover every field the site asserts and an expiry (docs/widget.md)."""
    expires = identity.get("expires")
    if expires is None:
        raise Unauthorized(
            "the identity needs 'expires' and a signature over every field; "
            "see 'Logged-in customers' in the widget documentation"
        )
    expected = identity_signature(inbox.identity_secret, identity, expires)
    if not hmac.compare_digest(expected, str(identity["signature"]).strip().lower()):
        raise Unauthorized("the identity signature does not match this inbox's secret")
    if expires < now - CLOCK_SKEW_SECONDS:
        raise Unauthorized("the signed identity has expired; sign it again on your server")
    if expires > now + IDENTITY_MAX_SECONDS + CLOCK_SKEW_SECONDS:
        raise Unauthorized("the signed identity expires too far ahead: at most 7 days")


async def _previous_visitor(
    session: AsyncSession, settings: Settings, inbox: Inbox, token: str | None
) -> Visitor | None:
    if not token:
        return None
    try:
        previous = read_visitor_token(
            settings.secret_key, token, settings.widget_session_days * 86400
        )
    except DomainError:
        return None
    return previous if previous.inbox_id == inbox.id else None


async def _resumed_anonymous(
    session: AsyncSession, inbox: Inbox, previous: Visitor | None
) -> Contact | None:
    """The contact an anonymous visitor's earlier token names, if it is still anonymous.

    A contact that was since joined with (or marked as) a verified customer is never handed
    to a token that did not prove who it is: after that customer logs out, the next person at
    the same browser starts afresh.
    """
    if previous is None or previous.verified:
        return None
    known = await contacts_repo.get(
        session, inbox.workspace_id, previous.contact_id
    ) or await contacts.merged_into(session, inbox.workspace_id, previous.contact_id)
    if known is None or known.verified:
        return None
    return known


async def do_start_session(
    session: AsyncSession,
    settings: Settings,
    *,
    inbox_key: str,
    identity: dict[str, Any] | None,
    previous_token: str | None,
    locale: str | None,
) -> dict[str, Any]:
    inbox = await inbox_by_key(session, inbox_key)
    previous = await _previous_visitor(session, settings, inbox, previous_token)
    anonymous = await _resumed_anonymous(session, inbox, previous)

    if identity is not None:
        check_identity(inbox, identity, time.time())
        contact = await contacts.do_upsert_verified(
            session,
            inbox.workspace_id,
            CHANNEL,
            external_id=identity["external_id"],
            name=identity.get("name"),
            email=identity.get("email"),
            phone=identity.get("phone"),
            language=locale,
        )
        if anonymous is not None and anonymous.id != contact.id:
            # The visitor chatted anonymously, then logged in on the site: one customer.
            await contacts.do_join_signed_in_visitor(session, contact, anonymous.id)
    else:
        contact = anonymous or await contacts.do_create_anonymous_visitor(
            session, inbox.workspace_id, CHANNEL, locale
        )
    visitor = Visitor(inbox.workspace_id, inbox.id, contact.id, contact.verified)
    open_conv = await conversations.open_for_contacts(session, {(contact.id, inbox.id)})
    conv = open_conv.get((contact.id, inbox.id))
    expires = utcnow() + timedelta(days=settings.widget_session_days)
    return {
        "session_token": issue_visitor_token(settings.secret_key, visitor),
        "contact_id": contact.id,
        "conversation_id": conv.id if conv else None,
        "verified": contact.verified,
        "expires_at": iso(expires),
        "inbox": {
            "id": inbox.id,
            "name": inbox.name,
            "greeting": greeting_for(inbox.settings or {}, contact.language or locale),
            "color": (inbox.settings or {}).get("color", "#1f6feb"),
        },
    }


async def visitor_messages(
    session: AsyncSession, visitor: Visitor, after_id: int | None
) -> list[dict[str, Any]]:
    from omniline.conversations.views import widget_message_view

    rows = await conversations.conversations_of_contact(
        session, visitor.workspace_id, visitor.contact_id, visitor.inbox_id
    )
    ids = [r.conv.id for r in rows]
    if not ids:
        if not await contacts_repo.existing_ids(session, [visitor.contact_id]):
            raise Unauthorized("this chat session has ended; start a new session")
        return []
    msgs = await conversations.messages(session, ids, after_id=after_id, include_private=False)
    atts = await conversations.attachments_for(session, [m.id for m in msgs])
    return [widget_message_view(m, atts.get(m.id)) for m in msgs]


def is_open(status: str) -> bool:
    return status in {s.value for s in OPEN_STATUSES}
