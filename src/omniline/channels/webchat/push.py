"""Push webhook for a lender's mobile app: an agent answered while the app was not connected.

The inbox settings hold ``push_url`` and ``push_secret``. When an agent or bot writes to the
customer, a durable ``push_notify`` job checks whether the customer's app is connected
(``contact_identities.live_until``, kept fresh by the app's WebSocket) and, if not, POSTs a
small signed JSON to the lender's push service, which sends the phone notification.

Signature (the same scheme as Omniline's webhooks): ``X-Omniline-Signature:
sha256=<hex HMAC-SHA256(push_secret, f"{timestamp}.{body}")>`` with the Unix time in seconds
in ``X-Omniline-Timestamp``.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import httpx
import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.contacts import repository as contacts_repo
from omniline.contacts.models import Contact
from omniline.conversations.models import AuthorType, Conversation, Direction, Message
from omniline.inboxes.models import Inbox
from omniline.jobs.registry import GiveUp, RetryLater, job
from omniline.jobs.service import enqueue
from omniline.kit import hooks
from omniline.kit.clock import iso, utcnow
from omniline.kit.http import describe_error, http_client
from omniline.webhooks.signing import signature

log = logging.getLogger(__name__)

JOB_KIND = "push_notify"
CHANNELS = frozenset({"webchat", "mobile"})
AUTHORS = frozenset({AuthorType.agent.value, AuthorType.bot.value})
TEXT_CHARS = 200
USER_AGENT = "Omniline-Push/1"
RATE_LIMIT_WAIT = 30.0  # seconds, when a 429 answer gives no Retry-After


def push_settings(inbox: Inbox) -> tuple[str, str] | None:
    """``(url, secret)`` when the inbox sends pushes, else None."""
    settings = inbox.settings or {}
    url = str(settings.get("push_url") or "").strip()
    secret = str(settings.get("push_secret") or "")
    return (url, secret) if url and secret else None


async def on_message_created(session: AsyncSession, event: hooks.DomainEvent) -> None:
    data = event.data
    # Checked before any query: customers' own messages (the hot path) never get further.
    if data.get("direction") != Direction.outbound.value or data.get("private"):
        return
    if data.get("author_type") not in AUTHORS:
        return
    conv = await session.get(Conversation, int(data["conversation_id"]))
    if conv is None or conv.channel not in CHANNELS:
        return
    inbox = await session.get(Inbox, conv.inbox_id)
    if inbox is None or push_settings(inbox) is None:
        return
    await enqueue(
        session, JOB_KIND, {"message_id": int(data["message_id"])}, workspace_id=conv.workspace_id
    )


def payload(inbox: Inbox, contact: Contact, conv: Conversation, msg: Message) -> dict[str, Any]:
    return {
        "event": "message.created",
        "inbox_key": inbox.key,
        "contact": {"id": contact.id, "external_id": contact.external_id},
        "conversation_id": conv.id,
        "message": {
            "id": msg.id,
            "text": (msg.text or "")[:TEXT_CHARS],
            "author_name": msg.author_name,
            "created_at": iso(msg.created_at),
        },
    }


def signed_headers(secret: str, body: bytes) -> dict[str, str]:
    stamp = str(int(time.time()))
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Omniline-Event": "message.created",
        "X-Omniline-Timestamp": stamp,
        "X-Omniline-Signature": signature(secret, stamp, body),
    }


@job(JOB_KIND)
async def push_notify(session: AsyncSession, data: dict[str, Any]) -> None:
    msg = await session.get(Message, int(data["message_id"]))
    if msg is None or msg.private:
        return
    conv = await session.get(Conversation, msg.conversation_id)
    inbox = await session.get(Inbox, conv.inbox_id) if conv else None
    target = push_settings(inbox) if inbox else None
    if conv is None or inbox is None or target is None:
        return  # deleted, or pushes were turned off meanwhile
    contact = await session.get(Contact, conv.contact_id)
    if contact is None:
        return
    live_until = await contacts_repo.live_until_of(session, contact.id)
    if live_until is not None and live_until > utcnow():
        return  # the app is connected: it shows the message itself
    url, secret = target
    body = orjson.dumps(payload(inbox, contact, conv, msg))
    await _post(url, secret, body)


async def _post(url: str, secret: str, body: bytes) -> None:
    try:
        response = await http_client().post(url, content=body, headers=signed_headers(secret, body))
    except httpx.HTTPError as exc:
        raise RuntimeError(f"push service: {describe_error(exc)}") from exc
    code = response.status_code
    if 200 <= code < 300:
        return
    reason = f"push service answered HTTP {code}: {response.text[:200].strip()}"
    if code == 429:
        raise RetryLater(reason, _retry_after(response) or RATE_LIMIT_WAIT)
    if 400 <= code < 500:
        # A request the service refuses will be refused again: park the job with the reason.
        raise GiveUp(reason)
    raise RuntimeError(reason)


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "")
    try:
        return max(float(value), 1.0)
    except ValueError:
        return None


def register() -> None:
    hooks.on("message.created", on_message_created)
