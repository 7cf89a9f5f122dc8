"""Storing customers' messages: the one entry point every channel calls (DESIGN.md §4)."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict
from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.contacts import repository as contacts_repo
from omniline.contacts import service as contacts
from omniline.conversations import notify, repository
from omniline.conversations.attachments import StoredFile
from omniline.conversations.card_numbers import mask_message_fields
from omniline.conversations.inbound import InboundMessage
from omniline.conversations.models import (
    AuthorType,
    Conversation,
    ConversationEvent,
    Delivery,
    Direction,
    Message,
    Status,
)
from omniline.conversations.records import (
    SYSTEM,
    Received,
    _attach,
    _conv_event,
    _touch,
    preview,
)
from omniline.db import after_commit
from omniline.errors import NotFound
from omniline.inboxes.models import Inbox
from omniline.jobs import service as jobs
from omniline.kit.clock import utcnow
from omniline.kit.hooks import DomainEvent, emit, emit_many
from omniline.ops import metrics


def _message_row(
    conv: Conversation, it: InboundMessage, names: dict[int, str], now: datetime
) -> dict[str, object]:
    text, meta = mask_message_fields(it.text, it.meta)
    return {
        "workspace_id": conv.workspace_id,
        "conversation_id": conv.id,
        "inbox_id": it.inbox_id,
        "external_id": it.external_id,
        "direction": Direction.inbound.value,
        "author_type": AuthorType.contact.value,
        "author_id": it.contact_id,
        "author_name": it.sender_name or names.get(it.contact_id or 0) or "",
        "text": text,
        "meta": dict(meta, media_pending=len(it.media)) if it.media else dict(meta),
        "delivery_status": Delivery.received.value,
        "created_at": it.received_at or now,
    }


def _event_row(
    conv: Conversation, type_: str, data: dict[str, object], now: datetime
) -> dict[str, object]:
    return {
        "workspace_id": conv.workspace_id,
        "conversation_id": conv.id,
        "type": type_,
        "actor_type": SYSTEM.type,
        "actor_id": SYSTEM.id,
        "actor_name": SYSTEM.name,
        "data": data,
        "created_at": now,
    }


async def _insert_messages(session: AsyncSession, rows: list[dict[str, object]]) -> list[Message]:
    """Insert a batch of messages with one INSERT .. RETURNING; answers them in ``rows`` order.

    Left to the unit of work, SQLite would get one INSERT per message (SQLAlchemy cannot
    tie RETURNING rows to VALUES rows there), each a thread round trip through aiosqlite.
    A single SQLite INSERT hands out increasing rowids in VALUES order, so sorting by id
    restores the order; PostgreSQL keeps parameter order itself.
    """
    if not rows:
        return []
    sqlite = session.get_bind().dialect.name == "sqlite"
    stmt = insert(Message).returning(Message, sort_by_parameter_order=not sqlite)
    msgs = list(await session.scalars(stmt, rows))
    if sqlite:
        msgs.sort(key=lambda m: m.id)
    return msgs


async def receive_inbound(session: AsyncSession, items: list[InboundMessage]) -> list[Received]:
    """Store a batch of customer messages in the caller's transaction.

    One pass for the whole batch: duplicates by external id, open conversations
    of the senders, new conversations, messages and events are each a single
    query or flush, so many concurrent senders share one commit.
    """
    now = utcnow()
    results: list[Received | None] = [None] * len(items)

    keys = {(it.inbox_id, it.external_id) for it in items if it.external_id is not None}
    existing = await repository.messages_by_external_id(session, keys)
    seen_in_batch: dict[tuple[int, str], int] = {}
    fresh: list[int] = []
    for i, it in enumerate(items):
        key = (it.inbox_id, it.external_id) if it.external_id else None
        if key is not None and key in existing:
            results[i] = Received(existing[key], duplicate=True)
            await _push_again(session, existing[key])
        elif key is not None and key in seen_in_batch:
            continue  # resolved after the first copy is stored
        else:
            if key is not None:
                seen_in_batch[key] = i
            fresh.append(i)

    inbox_ids = sorted({items[i].inbox_id for i in fresh})
    inboxes = {
        ib.id: ib for ib in await session.scalars(select(Inbox).where(Inbox.id.in_(inbox_ids)))
    }
    for i in fresh:
        inbox = inboxes.get(items[i].inbox_id)
        if inbox is None or inbox.workspace_id != items[i].workspace_id:
            raise NotFound("the inbox does not exist")
    target, reopened = await _threads(session, items, fresh, now)
    unknown: dict[tuple[int, str], dict[str, str | None]] = {}
    owners: dict[tuple[int, str], dict[str, int]] = {}
    for i in fresh:
        it = items[i]
        inbox = inboxes[it.inbox_id]
        if it.contact_id is None:
            address = (it.sender_address or "").strip()
            unknown.setdefault((inbox.workspace_id, inbox.channel), {}).setdefault(
                address, it.sender_name
            )
            if i in target:
                owners.setdefault((inbox.workspace_id, inbox.channel), {}).setdefault(
                    address, target[i].contact_id
                )
    for (workspace_id, channel), senders in unknown.items():
        found = await contacts.find_or_create_many(
            session, workspace_id, channel, senders, owners.get((workspace_id, channel))
        )
        for i in fresh:
            it = items[i]
            inbox = inboxes[it.inbox_id]
            if it.contact_id is not None or (inbox.workspace_id, inbox.channel) != (
                workspace_id,
                channel,
            ):
                continue
            contact = found[(it.sender_address or "").strip()]
            it.contact_id = contact.id
            if it.contact_phone or it.contact_email:
                # Only a phone the contact did not have yet costs a lookup (WhatsApp sends
                # the number with every message).
                new_phone = it.contact_phone if not contact.phone else None
                contacts.fill_reachability(contact, phone=it.contact_phone, email=it.contact_email)
                if new_phone:
                    await contacts.link_phone(session, contact, new_phone)

    pairs = {
        (items[i].contact_id or 0, items[i].inbox_id)
        for i in fresh
        if i not in target and not items[i].new_conversation
    }
    names = await contacts_repo.names(session, sorted({items[i].contact_id or 0 for i in fresh}))
    open_convs = await repository.open_for_contacts(session, pairs)
    created: list[tuple[Conversation, InboundMessage]] = []
    for i in fresh:
        it = items[i]
        if i in target:
            continue
        pair = (it.contact_id or 0, it.inbox_id)
        if not it.new_conversation and pair in open_convs:
            target[i] = open_convs[pair]
            continue
        conv = _new_conversation(inboxes[it.inbox_id], it, now)
        session.add(conv)
        created.append((conv, it))
        target[i] = conv
        if not it.new_conversation:
            open_convs[pair] = conv
    events: list[dict[str, object]] = []
    if created:
        await session.flush()
        await session.execute(
            insert(ConversationEvent),
            [_event_row(conv, "created", {"channel": conv.channel}, now) for conv, _ in created],
        )
        await _open(session, created)
        for conv, _ in created:
            if conv.status != Status.bot.value:
                events.append(_event_row(conv, "queued", {"queue_id": conv.queue_id}, now))
    for conv in reopened:
        events.append(_event_row(conv, "reopened", {"by": "customer"}, now))

    convs = [target[i] for i in fresh]
    msg_rows = [_message_row(c, items[i], names, now) for i, c in zip(fresh, convs, strict=True)]
    msgs = await _insert_messages(session, msg_rows)
    new_msgs: list[tuple[int, Conversation, Message, list[StoredFile]]] = []
    touched: dict[int, Conversation] = {}
    answered: dict[int, Conversation] = {}
    for i, conv, msg in zip(fresh, convs, msgs, strict=True):
        if conv.status == Status.waiting_customer.value:
            conv.status = Status.assigned.value if conv.assignee_id else Status.queued.value
            if conv.status == Status.queued.value and conv.id not in answered:
                # A customer answering a notification: now there is something to do.
                answered[conv.id] = conv
                events.append(_event_row(conv, "queued", {"queue_id": conv.queue_id}, now))
        files = items[i].attachments
        atts = _attach(session, msg, files) if files else []
        _touch(conv, msg)
        events.append(_event_row(conv, "message_in", {"message_id": msg.id}, now))
        results[i] = Received(msg, atts)
        new_msgs.append((i, conv, msg, files))
        touched[conv.id] = conv
        if items[i].media:
            await jobs.enqueue(
                session,
                "fetch_media",
                {"message_id": msg.id, "media": [asdict(m) for m in items[i].media]},
                workspace_id=conv.workspace_id,
            )
    if events:
        # One executemany, in timeline order: the ORM would fetch every new id, one by one
        # on SQLite.
        await session.execute(insert(ConversationEvent), events)
    for i, it in enumerate(items):
        if results[i] is None and it.external_id:
            first = results[seen_in_batch[(it.inbox_id, it.external_id)]]
            assert first is not None
            results[i] = Received(first.message, first.attachments, duplicate=True)
    await session.flush()

    await _emit_inbound(session, [c for c, _ in created], new_msgs)
    for conv in answered.values():
        await emit(session, _conv_event("conversation.queued", conv, reason="customer_answered"))
    for conv in reopened:
        await emit(session, _conv_event("conversation.reopened", conv, by="customer"))
        if conv.assignee_id is None:
            await emit(session, _conv_event("conversation.queued", conv, reason="reopened"))
    created_ids = {c.id for c, _ in created}
    rows = await repository.rows_by_ids(session, sorted(touched))
    by_id = {r.conv.id: r for r in rows}
    # The list learns of a new conversation before its first message arrives.
    for conv_id, row in by_id.items():
        notify.conversation_changed(session, row, created=conv_id in created_ids)
    for _i, conv, msg, _files in new_msgs:
        res = results[_i]
        assert res is not None
        notify.message_created(session, conv, msg, res.attachments)
    if new_msgs:
        stored = Counter(conv.channel for _i, conv, _m, _f in new_msgs)
        after_commit(session, lambda: metrics.count_ingested(stored))
    return [r for r in results if r is not None]


async def _push_again(session: AsyncSession, msg: Message) -> None:
    """A message sent again (same external id) that an earlier attempt stored: that attempt's
    answer, and maybe its realtime push, was lost. A commit that reached the database just as
    the connection broke (a database crash) is answered 503 and pushes nothing, so without this
    the message is stored and acknowledged on the retry but never shown live. Clients keep one
    copy per message id: a second push of one they have changes nothing. Retries are rare, so
    the extra reads cost nothing on the hot path."""
    conv = await session.get(Conversation, msg.conversation_id)
    if conv is None:
        return
    atts = (await repository.attachments_for(session, [msg.id])).get(msg.id, [])
    notify.message_created(session, conv, msg, atts)


def _new_conversation(inbox: Inbox, it: InboundMessage, now: datetime) -> Conversation:
    at = it.received_at or now
    text, _meta = mask_message_fields(it.text, it.meta)
    return Conversation(
        workspace_id=inbox.workspace_id,
        inbox_id=inbox.id,
        channel=inbox.channel,
        contact_id=it.contact_id or 0,
        contact_address=(it.sender_address or "")[:320] or None,
        queue_id=inbox.default_queue_id,
        status=Status.queued.value,
        created_at=now,
        last_activity_at=at,
        # The first message's preview as _touch sets it once the message is stored: equal
        # values, so each new row is written once instead of updated right after.
        last_message_at=at,
        last_message_direction=Direction.inbound.value,
        last_message_text=preview(text),
        first_queued_at=now,
        tags=[],
    )


async def _threads(
    session: AsyncSession, items: list[InboundMessage], fresh: list[int], now: datetime
) -> tuple[dict[int, Conversation], list[Conversation]]:
    """Messages the channel threaded into a known conversation (an email reply).

    An open conversation takes the message; a resolved one is reopened; a closed one, or one
    of another workspace, is ignored and the message starts or joins a case as usual.
    """
    wanted = {items[i].conversation_id for i in fresh if items[i].conversation_id}
    if not wanted:
        return {}, []
    found = {
        c.id: c
        for c in await session.scalars(select(Conversation).where(Conversation.id.in_(wanted)))
    }
    target: dict[int, Conversation] = {}
    reopened: dict[int, Conversation] = {}
    for i in fresh:
        it = items[i]
        conv = found.get(it.conversation_id or 0)
        if conv is None or conv.workspace_id != it.workspace_id:
            continue
        if conv.status == Status.closed.value:
            continue
        if conv.status == Status.resolved.value and not it.meta.get("auto_submitted"):
            # An out-of-office answer to our closing letter is kept, but opens nothing.
            conv.status = Status.assigned.value if conv.assignee_id else Status.queued.value
            conv.resolved_at = None
            reopened[conv.id] = conv
        target[i] = conv
    return target, list(reopened.values())


async def _open(session: AsyncSession, created: list[tuple[Conversation, InboundMessage]]) -> None:
    """Who takes each new conversation first. Listeners of ``conversation.opening``, wired in
    ``wiring.py`` (routing rules for the whole batch in one call, then the inbox's bot), set
    its queue, priority, tags, language and status (``bot`` while a flow holds it); this
    module knows neither of them."""
    events = [
        DomainEvent(
            "conversation.opening",
            conv.workspace_id,
            {"conversation": conv, "first_text": it.text, "to_address": it.to_address,
             "topic": it.topic},
        )
        for conv, it in created
    ]  # fmt: skip
    await emit_many(session, events)
    # The routed events get their ids before the queued ones written below.
    await session.flush()


async def _emit_inbound(
    session: AsyncSession,
    created: list[Conversation],
    new_msgs: list[tuple[int, Conversation, Message, list[StoredFile]]],
) -> None:
    """Domain events of a stored batch: routing, SLA, auto-replies, webhooks react to them.

    One emit for the batch: a batch listener (SLA clocks) handles every new conversation
    in one call.
    """
    events: list[DomainEvent] = []
    for conv in created:
        data = {
            "conversation_id": conv.id,
            "queue_id": conv.queue_id,
            "inbox_id": conv.inbox_id,
            "contact_id": conv.contact_id,
            "channel": conv.channel,
        }
        events.append(DomainEvent("conversation.created", conv.workspace_id, data))
        if conv.queue_id is not None and conv.status != Status.bot.value:
            events.append(_conv_event("conversation.queued", conv, reason="created"))
    for _i, conv, msg, _files in new_msgs:
        events.append(
            DomainEvent(
                "message.created",
                conv.workspace_id,
                {
                    "conversation_id": conv.id,
                    "message_id": msg.id,
                    "direction": msg.direction,
                    "private": False,
                    "author_type": msg.author_type,
                    "queue_id": conv.queue_id,
                },
            ),
        )
    await emit_many(session, events)
