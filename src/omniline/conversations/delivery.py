"""Outbound delivery: channels register a sender; a durable job calls it with retries.

Channels also report later statuses (delivered, read, failed) through
``update_delivery_status`` and may refuse a reply up front with a reply guard
(WhatsApp's 24-hour window): the agent is told why before anything is queued.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import flag_modified

from omniline import db
from omniline.auth import access
from omniline.auth.principal import Principal
from omniline.conversations import notify, repository
from omniline.conversations.models import Conversation, Delivery, Direction, Message
from omniline.errors import Conflict, NotFound
from omniline.inboxes.models import Inbox
from omniline.jobs.models import Job, JobState
from omniline.jobs.registry import job
from omniline.jobs.runner import backoff_seconds
from omniline.jobs.service import enqueue, wake_runners
from omniline.kit.clock import utcnow
from omniline.ops import metrics


@dataclass(slots=True)
class DeliveryResult:
    """What a sender reports.

    ``failed`` with ``permanent=True`` is not retried (a blocked bot, a closed window);
    ``retry_after`` (seconds, e.g. Telegram's 429 answer) keeps the message queued and
    schedules the next attempt exactly then.
    """

    status: Delivery
    external_id: str | None = None
    error: str | None = None
    permanent: bool = False
    retry_after: float | None = None
    # The request may have reached the provider (a timeout after it was sent, a connection
    # dropped before the answer): for a channel where sending twice shows twice, the reply
    # becomes "unconfirmed" instead of being sent again automatically.
    maybe_reached: bool = False


def maybe_reached(exc: BaseException) -> bool:
    """Whether an HTTP failure may have happened after the provider got the request.

    Refused connections and connect/pool timeouts never reached it; a read or write timeout,
    a dropped connection or a garbled answer may have.
    """
    if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)):
        return False
    return isinstance(exc, (httpx.TimeoutException, httpx.NetworkError, httpx.ProtocolError))


Sender = Callable[[AsyncSession, Message, Conversation, Inbox], Awaitable[DeliveryResult]]
# A guard answers why a reply cannot be sent now (or None): it sees the reply's meta, so a
# WhatsApp template passes where free text does not.
ReplyGuard = Callable[[AsyncSession, Conversation, Inbox, dict[str, Any]], Awaitable[str | None]]

_senders: dict[str, Sender] = {}
_guards: dict[str, ReplyGuard] = {}
_on_commit: set[str] = set()
_repeat_safe: set[str] = set()
# Per channel: does this process still remember what an interrupted attempt of a message
# sent (Telegram keeps the ids it sent until they are committed)? Then the attempt may go on.
Remembers = Callable[[int], bool]
_remembers: dict[str, Remembers] = {}


def register_sender(
    channel: str,
    sender: Sender,
    *,
    on_commit: bool = False,
    repeat_safe: bool = False,
    remembers: Remembers | None = None,
) -> None:
    """``on_commit``: the channel has nothing to hand to a third party (the web chat reads
    the message from the database and its socket), so a message Omniline itself writes there
    is sent once committed, without a delivery job.

    ``repeat_safe``: sending the same reply again shows the customer one message (email's
    Message-ID, VK's ``random_id``, our own store). Otherwise each attempt is marked as
    started, durably, before the provider is called; an attempt found started and never
    finished (the worker died mid-send) is not repeated: the reply becomes "unconfirmed"
    and the agent decides.
    """
    _senders[channel] = sender
    if on_commit:
        _on_commit.add(channel)
    if repeat_safe or on_commit:
        _repeat_safe.add(channel)
    else:
        _repeat_safe.discard(channel)
    if remembers is not None:
        _remembers[channel] = remembers


def repeat_safe(channel: str) -> bool:
    return channel in _repeat_safe


def delivers_on_commit(channel: str) -> bool:
    return channel in _on_commit


def register_reply_guard(channel: str, guard: ReplyGuard) -> None:
    _guards[channel] = guard


MAX_ATTEMPTS = 8
SENDABLE = frozenset({Delivery.queued.value, Delivery.retrying.value, Delivery.failed.value})
# An agent may send these again by hand (the pending attempt moves, none is added).
RETRYABLE = frozenset({Delivery.failed.value, Delivery.retrying.value, Delivery.unconfirmed.value})
# Message.meta key: the scheduled delivery job of a message, so a manual retry moves it.
RETRY_JOB = "delivery_job_id"
# Message.meta key: when an attempt on a channel that is not repeat-safe called the provider;
# committed before the call, removed with the attempt's outcome.
SEND_STARTED = "send_started"


def N_(message: str) -> str:
    """Marks a message for the catalogue; stored translated into the default locale."""
    return message


UNCONFIRMED = N_(
    "the sending process stopped during the send; it may or may not have reached the customer"
)
UNCONFIRMED_TIMEOUT = "no answer from the provider; it may or may not have reached the customer"
# Statuses only move forward; "failed" may follow "sent" (a later bounce or error report).
RANK = {
    Delivery.queued.value: 0,
    Delivery.retrying.value: 0,
    Delivery.unconfirmed.value: 0,
    Delivery.sent.value: 1,
    Delivery.delivered.value: 2,
    Delivery.read.value: 3,
}


async def reply_blocked_reason(
    session: AsyncSession, conv: Conversation, meta: dict[str, Any] | None = None
) -> str | None:
    """Why the channel would refuse a reply in this conversation now, in words for the agent."""
    inbox = await session.get(Inbox, conv.inbox_id)
    if inbox is None:
        return None
    guard = _guards.get(inbox.channel)
    return await guard(session, conv, inbox, meta or {}) if guard else None


@job("deliver_message")
async def deliver_message(session: AsyncSession, payload: dict[str, Any]) -> None:
    msg = await session.scalar(select(Message).where(Message.id == int(payload["message_id"])))
    if msg is None or msg.private or msg.delivery_status not in SENDABLE:
        return  # deleted, or already delivered by an earlier attempt
    conv = await session.get(Conversation, msg.conversation_id)
    # A message may leave through another inbox than its conversation's (an email fallback).
    inbox = await session.get(Inbox, msg.inbox_id)
    if conv is None or inbox is None:
        return
    sender = _senders.get(inbox.channel)
    guarded = sender is not None and not repeat_safe(inbox.channel)
    if guarded and SEND_STARTED in (msg.meta or {}):
        remembers = _remembers.get(inbox.channel)
        if remembers is None or not remembers(msg.id):
            # An earlier attempt called the provider and its worker died before the answer
            # was recorded: sending again could show the customer the reply twice.
            msg.delivery_status = Delivery.unconfirmed.value
            msg.delivery_error = _in_default_locale(UNCONFIRMED)
            await session.flush()
            await _publish(session, conv, msg)
            metrics.delivery_unconfirmed.labels(inbox.channel).inc()
            return
    if sender is None:
        result = DeliveryResult(
            Delivery.failed, error=f"no sender for channel {inbox.channel}", permanent=True
        )
    else:
        if guarded:
            await _mark_started(msg)
        result = await sender(session, msg, conv, inbox)
        if guarded:
            # The outcome is committed with this transaction; the mark goes with it.
            meta = dict(msg.meta or {})
            meta.pop(SEND_STARTED, None)
            msg.meta = meta
            flag_modified(msg, "meta")
    attempt = int(payload.get("attempt", 1))
    unknown = guarded and result.status == Delivery.failed and result.maybe_reached
    retry = (
        result.status == Delivery.failed
        and not result.permanent
        and not unknown
        and attempt < MAX_ATTEMPTS
    )
    if unknown:
        msg.delivery_status = Delivery.unconfirmed.value
        msg.delivery_error = f"{UNCONFIRMED_TIMEOUT} ({result.error or 'no answer'})"[:500]
        metrics.delivery_unconfirmed.labels(inbox.channel).inc()
    elif retry and result.retry_after is not None:
        # Rate limited: still on its way, not a failure the agent must act on.
        msg.delivery_status = Delivery.queued.value
        msg.delivery_error = f"waiting {result.retry_after:g} s: {result.error or 'rate limited'}"
    elif retry:
        # Shown as "retrying", not "failed": the agent need not act, and sending it again by
        # hand moves this attempt forward instead of adding a second one.
        msg.delivery_status = Delivery.retrying.value
        msg.delivery_error = (result.error or "")[:500] or None
    else:
        msg.delivery_status = result.status.value
        msg.delivery_error = (result.error or "")[:500] or None
        if result.status == Delivery.sent:
            waited = (utcnow() - msg.created_at).total_seconds()
            metrics.delivery_seconds.labels(inbox.channel).observe(max(0.0, waited))
    if result.external_id and not msg.external_id:
        msg.external_id = result.external_id
    await session.flush()
    await _publish(session, conv, msg)
    if retry:
        # The failure is committed (the agent sees why) and a later attempt is scheduled.
        delay = result.retry_after if result.retry_after is not None else backoff_seconds(attempt)
        pending = await enqueue(
            session,
            "deliver_message",
            {**payload, "message_id": msg.id, "attempt": attempt + 1},
            run_at=utcnow() + timedelta(seconds=delay),
            workspace_id=msg.workspace_id,
        )
        await session.flush()
        msg.meta = {**(msg.meta or {}), RETRY_JOB: pending.id}


def _in_default_locale(text: str) -> str:
    from omniline.config import get_settings
    from omniline.web.i18n import gettext

    return gettext(get_settings().default_locale, text)


async def _mark_started(msg: Message) -> None:
    """Commits "this attempt is calling the provider" in its own transaction, before the call:
    a worker killed during the send leaves it behind for the runner that takes the job over."""
    meta = {**(msg.meta or {}), SEND_STARTED: utcnow().isoformat()}
    async with db.unit_of_work() as marker:
        await marker.execute(
            update(Message)
            .where(Message.id == msg.id)
            .values(meta=meta)
            .execution_options(synchronize_session=False)
        )


async def _publish(session: AsyncSession, conv: Conversation, msg: Message) -> None:
    atts = (await repository.attachments_for(session, [msg.id])).get(msg.id, [])
    notify.message_status(session, conv, msg, atts)


async def update_delivery_status(
    session: AsyncSession,
    inbox_id: int,
    external_id: str,
    status: Delivery,
    error: str | None = None,
) -> Message | None:
    """A channel's later report (WhatsApp "read", a Messenger delivery, a bounce).

    Idempotent and forward-only: a repeated or late "delivered" after "read" changes nothing.
    Answers the message, or None when no outbound message has that id.
    """
    msg = await session.scalar(
        select(Message).where(Message.inbox_id == inbox_id, Message.external_id == external_id)
    )
    if msg is None or msg.direction != Direction.outbound.value:
        return None
    current = msg.delivery_status
    if status == Delivery.failed:
        if current == Delivery.failed.value and msg.delivery_error == error:
            return msg
    elif current == Delivery.failed.value or RANK.get(status.value, -1) <= RANK.get(current, -1):
        return msg
    msg.delivery_status = status.value
    msg.delivery_error = (error or "")[:500] or None if status == Delivery.failed else None
    await session.flush()
    conv = await session.get(Conversation, msg.conversation_id)
    if conv is not None:
        await _publish(session, conv, msg)
    return msg


async def do_retry_delivery(
    session: AsyncSession, p: Principal, conv_id: int, message_id: int
) -> Message:
    """An agent sends a failed message again by hand."""
    from omniline.conversations.service import get_visible

    access.check_may_reply(p)
    conv = await get_visible(session, p, conv_id)
    msg = await session.get(Message, message_id)
    if msg is None or msg.conversation_id != conv.id or msg.private:
        raise NotFound("no such message in this conversation")
    if msg.direction != Direction.outbound.value or msg.delivery_status not in RETRYABLE:
        raise Conflict("only a message whose delivery failed can be sent again")
    pending = await _pending_retry(session, msg)
    msg.delivery_status = Delivery.queued.value
    msg.delivery_error = None
    if SEND_STARTED in (msg.meta or {}):
        # The agent decided to send it again: the interrupted attempt no longer holds it back.
        msg.meta = {k: v for k, v in (msg.meta or {}).items() if k != SEND_STARTED}
    if pending is not None:
        # Never a second delivery of the same reply: the scheduled attempt runs now.
        pending.run_at = utcnow()
        pending.payload = {**pending.payload, "manual": True}
    else:
        job = await enqueue(
            session,
            "deliver_message",
            {"message_id": msg.id, "conversation_id": conv.id, "attempt": 1, "manual": True},
            workspace_id=conv.workspace_id,
        )
        await session.flush()
        msg.meta = {**(msg.meta or {}), RETRY_JOB: job.id}
    await session.flush()
    wake_runners(session)
    await _publish(session, conv, msg)
    return msg


async def _pending_retry(session: AsyncSession, msg: Message) -> Job | None:
    job_id = (msg.meta or {}).get(RETRY_JOB)
    if not isinstance(job_id, int):
        return None
    job = await session.get(Job, job_id)
    if job is None or job.state != JobState.pending.value or job.kind != "deliver_message":
        return None
    return job
