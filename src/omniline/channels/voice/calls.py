"""A call's records: its conversation, its row in ``voice_calls`` and its timeline events.

Functions here flush and never commit: the controller commits a batch of PBX events once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from omniline.channels.voice.models import CallState, VoiceCall
from omniline.contacts import service as contacts
from omniline.contacts.models import Contact
from omniline.contacts.phones import normalize_phone
from omniline.conversations import notify, repository
from omniline.conversations.models import Conversation, ConversationEvent, Status
from omniline.conversations.transfers import do_system_assign
from omniline.inboxes.models import Inbox
from omniline.kit.hooks import DomainEvent, emit, emit_many

CHANNEL = "voice"


def seconds(a: datetime | None, b: datetime | None) -> float | None:
    return None if a is None or b is None else max(0.0, (b - a).total_seconds())


async def contact_for(
    session: AsyncSession, inbox: Inbox, caller: str, name: str, ref: str
) -> tuple[Contact, str]:
    """The caller's contact by number (normalised to E.164), made on first call. A hidden or
    garbled caller id still gets a contact of its own: never an error."""
    region = str((inbox.settings or {}).get("region") or "") or None
    phone = normalize_phone(caller, region)
    address = phone or f"unknown:{ref}"[:320]
    contact = await contacts.find_or_create_by_address(
        session,
        inbox.workspace_id,
        "phone",
        address,
        name or phone or caller or None,
        phone=phone or None,
    )
    if phone and not contact.phone:
        contact.phone = phone
    return contact, phone or ""


def add_event(
    session: AsyncSession,
    conv: Conversation,
    type_: str,
    data: dict[str, Any],
    at: datetime,
    *,
    agent: tuple[int, str] | None = None,
) -> ConversationEvent:
    ev = ConversationEvent(
        workspace_id=conv.workspace_id,
        conversation_id=conv.id,
        type=type_,
        actor_type="agent" if agent else "system",
        actor_id=agent[0] if agent else None,
        actor_name=agent[1] if agent else "",
        data=data,
        created_at=at,
    )
    session.add(ev)
    return ev


_DEFERRED = "voice_publish_deferred"


def defer_publishing(session: AsyncSession) -> None:
    """From now until :func:`publish_deferred`, :func:`publish` only notes what to tell: a
    batch of PBX events reads each changed conversation's row once, and its events are
    inserted together, instead of a flush and a read per change."""
    session.info[_DEFERRED] = {}


async def publish_deferred(session: AsyncSession) -> None:
    """Tell what :func:`publish` noted: timeline events, then each conversation's row as it
    stands now (``conversation.created`` for one opened meanwhile)."""
    pending: dict[int, tuple[Conversation, list[ConversationEvent], bool]] | None = (
        session.info.pop(_DEFERRED, None)
    )
    if not pending:
        return
    await session.flush()
    for conv, events, _created in pending.values():
        for ev in events:
            notify.timeline_event(session, conv, ev)
    for row in await repository.rows_by_ids(session, list(pending)):
        notify.conversation_changed(session, row, created=pending[row.conv.id][2])


def _defer(
    session: AsyncSession, conv: Conversation, events: tuple[ConversationEvent, ...], created: bool
) -> bool:
    pending = session.info.get(_DEFERRED)
    if pending is None:
        return False
    entry = pending.setdefault(conv.id, (conv, [], created))
    entry[1].extend(events)
    if created and not entry[2]:
        pending[conv.id] = (conv, entry[1], True)
    return True


async def publish(session: AsyncSession, conv: Conversation, *events: ConversationEvent) -> None:
    """The conversation list and the open timeline see the change after commit."""
    if _defer(session, conv, events, created=False):
        return
    await session.flush()
    for ev in events:
        notify.timeline_event(session, conv, ev)
    rows = await repository.rows_by_ids(session, [conv.id])
    if rows:
        notify.conversation_changed(session, rows[0], created=False)


async def open_call(
    session: AsyncSession,
    inbox: Inbox,
    *,
    ref: str,
    caller: str,
    dialled: str,
    name: str,
    at: datetime,
    direction: str = "in",
    callback_id: int | None = None,
) -> tuple[VoiceCall, Conversation, Contact]:
    """A new call as a conversation of the inbox, routed by the workspace's rules (queue,
    priority, language); the phone menu, not the chat bot, holds it first."""
    contact, phone = await contact_for(session, inbox, caller, name, ref)
    conv = Conversation(
        workspace_id=inbox.workspace_id,
        inbox_id=inbox.id,
        channel=CHANNEL,
        contact_id=contact.id,
        contact_address=phone or None,
        queue_id=inbox.default_queue_id,
        status=Status.bot.value,
        created_at=at,
        last_activity_at=at,
        tags=[],
    )
    session.add(conv)
    await session.flush()
    await emit_many(
        session,
        [
            DomainEvent(
                "conversation.opening",
                conv.workspace_id,
                {
                    "conversation": conv,
                    "first_text": "",
                    "to_address": dialled,
                    "topic": None,
                    "skip_bot": True,
                },
            )
        ],
    )
    call = VoiceCall(
        workspace_id=inbox.workspace_id,
        inbox_id=inbox.id,
        conversation_id=conv.id,
        contact_id=contact.id,
        ref=ref,
        direction=direction,
        caller=(phone or caller)[:40],
        dialled=dialled[:40],
        arrived_at=at,
        priority=conv.priority,
        language=conv.language or "",
        callback_id=callback_id,
        ivr={},
    )
    session.add(call)
    ev = add_event(
        session,
        conv,
        "call_started",
        {"caller": call.caller, "dialled": call.dialled, "direction": direction},
        at,
    )
    await session.flush()
    await emit(
        session,
        DomainEvent(
            "conversation.created",
            conv.workspace_id,
            {
                "conversation_id": conv.id,
                "queue_id": conv.queue_id,
                "inbox_id": inbox.id,
                "contact_id": contact.id,
                "channel": CHANNEL,
            },
        ),
    )
    if not _defer(session, conv, (ev,), created=True):
        await session.flush()
        rows = await repository.rows_by_ids(session, [conv.id])
        notify.conversation_changed(session, rows[0], created=True)
        notify.timeline_event(session, conv, ev)
    return call, conv, contact


async def queued(
    session: AsyncSession, call: VoiceCall, conv: Conversation, queue_id: int, at: datetime
) -> None:
    """The call entered a queue: from now it is *offered* in the service-level sense."""
    call.state = CallState.queued.value
    call.queue_id = queue_id
    if call.queued_at is None:
        call.queued_at = at
    conv.queue_id = queue_id
    conv.status = Status.queued.value
    conv.priority = call.priority
    if conv.first_queued_at is None:
        conv.first_queued_at = at
    ev = add_event(session, conv, "call_offered", {"queue_id": queue_id}, at)
    await publish(session, conv, ev)


async def answered(
    session: AsyncSession, call: VoiceCall, conv: Conversation, agent_id: int, at: datetime
) -> None:
    call.state = CallState.talking.value
    call.agent_id = agent_id
    call.answered_at = at
    wait = seconds(call.queued_at, at)
    ev = add_event(session, conv, "call_answered", {"agent_id": agent_id, "wait_s": _r(wait)}, at)
    if not _defer(session, conv, (ev,), created=False):
        await session.flush()
        notify.timeline_event(session, conv, ev)
    if conv.status in (Status.queued.value, Status.bot.value) and conv.assignee_id is None:
        await do_system_assign(session, conv, agent_id, reason="call_answered")


async def ended(
    session: AsyncSession,
    call: VoiceCall,
    conv: Conversation,
    at: datetime,
    *,
    reason: str,
    side: str | None,
    cause: int | None,
    short_abandon_s: float,
) -> ConversationEvent:
    """The call is over: its figures are final; the conversation is resolved."""
    call.end_reason = reason
    call.hangup_side = side
    call.hangup_cause = cause
    call.ended_at = at
    if call.hold_started_at is not None:
        call.hold_s += seconds(call.hold_started_at, at) or 0.0
        call.hold_started_at = None
    data: dict[str, Any] = {"reason": reason, "side": side, "cause": cause}
    if reason == "abandoned":
        wait = seconds(call.queued_at, at) or 0.0
        call.short_abandon = wait < short_abandon_s
        data |= {"wait_s": _r(wait), "short": call.short_abandon}
        add_event(
            session, conv, "call_abandoned", {"wait_s": _r(wait), "short": call.short_abandon}, at
        )
    if call.answered_at is not None:
        data |= {"talk_s": _r(seconds(call.answered_at, at)), "hold_s": _r(call.hold_s)}
    call.state = CallState.ended.value
    ev = add_event(session, conv, "call_ended", data, at)
    if conv.status not in (Status.resolved.value, Status.closed.value):
        conv.status = Status.resolved.value
        conv.resolved_at = at
        await session.flush()
        await emit(
            session,
            DomainEvent(
                "conversation.resolved",
                conv.workspace_id,
                {"conversation_id": conv.id, "queue_id": conv.queue_id, "by": "voice"},
            ),
        )
    await publish(session, conv, ev)
    return ev


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 1)
