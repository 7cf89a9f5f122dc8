"""Sending auto-replies when conversations are created, queued and resolved.

Runs inside the transaction of the change (omniline.kit.hooks): the reply, its
delivery job and its timeline event commit together with the conversation or not
at all. Each kind is sent at most once per occasion; the conversation's own event
log says whether it was: a greeting once, a high-load reply once per queueing (an
assignment ends a queueing), a closing reply once per resolve.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.auth.models import User
from omniline.autoreplies import business_hours, languages, repository, service, templates
from omniline.autoreplies import wait_estimate as waits
from omniline.autoreplies.models import AutoReplyRule, Kind
from omniline.contacts import repository as contacts
from omniline.conversations import notify
from omniline.conversations import repository as conversations
from omniline.conversations.models import (
    OPEN_STATUSES,
    AuthorType,
    Conversation,
    Direction,
    Message,
    Status,
)
from omniline.conversations.service import Actor, _add_event
from omniline.conversations.system_messages import do_send_system_message
from omniline.inboxes.models import Inbox
from omniline.kit import hooks
from omniline.kit.clock import utcnow
from omniline.workspaces.models import Queue, Workspace

log = logging.getLogger(__name__)
OPEN = frozenset(s.value for s in OPEN_STATUSES)


@dataclass(slots=True)
class Occasion:
    """What the event log says about the conversation's auto-replies so far."""

    sent: list[tuple[int, str]]  # (event id, kind) of each auto-reply
    last_assigned: int
    last_resolved: int

    def already(self, kind: str) -> bool:
        after = {
            Kind.high_load.value: self.last_assigned,
            Kind.closing.value: self.last_resolved,
        }.get(kind, 0)
        return any(k == kind and ev_id > after for ev_id, k in self.sent)


async def _occasion(session: AsyncSession, conv: Conversation) -> Occasion:
    await session.flush()  # events added but not yet written must count
    events = await repository.events_of(session, conv.id, ("auto_reply", "assigned", "resolved"))
    sent = [(e.id, str((e.data or {}).get("kind"))) for e in events if e.type == "auto_reply"]
    assigned = max((e.id for e in events if e.type == "assigned"), default=0)
    resolved = max((e.id for e in events if e.type == "resolved"), default=0)
    return Occasion(sent, assigned, resolved)


async def _values(
    session: AsyncSession, conv: Conversation, rule: AutoReplyRule, text: str, inbox: Inbox
) -> dict[str, Any]:
    """Variable values; only those the text uses are looked up."""
    used = set(templates.variables_in(text))
    values: dict[str, Any] = {"inbox_name": inbox.name}
    if "contact_name" in used:
        contact = await contacts.get(session, conv.workspace_id, conv.contact_id)
        values["contact_name"] = contact.name if contact else ""
    if "queue_name" in used and conv.queue_id is not None:
        queue = await session.get(Queue, conv.queue_id)
        values["queue_name"] = queue.name if queue else ""
    if "agent_name" in used and conv.assignee_id is not None:
        agent = await session.get(User, conv.assignee_id)
        values["agent_name"] = agent.name if agent else ""
    if used & {"position", "wait_minutes"}:
        est = await waits.estimate(session, conv)
        values.update(position=est.position, wait_minutes=est.wait_minutes)
    if "sla_minutes" in used:
        values["sla_minutes"] = await business_hours.sla_minutes(session, conv.queue_id)
    if "business_hours" in used:
        values["business_hours"] = await business_hours.hours_text(
            session, rule.calendar_id, conv.queue_id
        )
    return values


async def _language(session: AsyncSession, conv: Conversation) -> str | None:
    contact = await contacts.get(session, conv.workspace_id, conv.contact_id)
    workspace = await session.get(Workspace, conv.workspace_id)
    return languages.wanted(
        [
            conv.language,
            contact.language if contact else None,
            workspace.default_locale if workspace else None,
        ]
    )


async def send(session: AsyncSession, conv: Conversation, rule: AutoReplyRule) -> bool:
    """Render the rule's text for this conversation and send it; False when there is no text."""
    texts = (await repository.texts(session, [rule.id]))[rule.id]
    chosen = languages.choose(texts, await _language(session, conv), rule.fallback_language)
    inbox = await session.get(Inbox, conv.inbox_id)
    if chosen is None or inbox is None:
        return False
    lang, text = chosen
    try:
        body = templates.render(text, await _values(session, conv, rule, text, inbox))
    except Exception:  # a reply is a courtesy: never fail the customer's message over it
        log.exception("auto-reply %s could not be rendered", rule.id)
        return False
    if not body.strip():
        return False
    author = rule.author_name or inbox.name
    msg = await do_send_system_message(
        session, conv, body, author_type=AuthorType.bot.value, author_name=author
    )
    ev = _add_event(
        session,
        conv,
        "auto_reply",
        Actor(AuthorType.bot.value, None, author),
        {"kind": rule.kind, "rule_id": rule.id, "message_id": msg.id, "language": lang},
    )
    await session.flush()
    notify.timeline_event(session, conv, ev)
    return True


async def _rule(session: AsyncSession, conv: Conversation, kind: Kind) -> AutoReplyRule | None:
    return await service.applicable(
        session, conv.workspace_id, kind.value, conv.inbox_id, conv.queue_id
    )


async def _answers_automatic(session: AsyncSession, conv: Conversation) -> bool:
    """The customer's latest message is an auto-reply or a bounce (``meta["auto_submitted"]``,
    set by the email channel): answering it could start a loop of automatic letters."""
    meta = await session.scalar(
        select(Message.meta)
        .where(Message.conversation_id == conv.id, Message.direction == Direction.inbound.value)
        .order_by(Message.id.desc())
        .limit(1)
    )
    return bool((meta or {}).get("auto_submitted"))


async def greet(session: AsyncSession, conv: Conversation) -> bool:
    """The greeting and, when the calendar says closed, the out-of-hours reply.

    True when the out-of-hours reply was sent.
    """
    if conv.status not in OPEN or conv.status == Status.bot.value:
        return False  # a bot greets in its own words
    ooh = await _rule(session, conv, Kind.out_of_hours)
    greeting = await _rule(session, conv, Kind.greeting)
    if ooh is None and greeting is None:
        return False
    if await _answers_automatic(session, conv):
        return False
    seen = await _occasion(session, conv)
    closed = False
    if ooh is not None and ooh.calendar_id is not None:
        closed = await business_hours.is_open(session, ooh.calendar_id, utcnow()) is False
    replaced = closed and ooh is not None and ooh.replaces_greeting
    if greeting is not None and not seen.already(Kind.greeting.value) and not replaced:
        await send(session, conv, greeting)
    if closed and ooh is not None and not seen.already(Kind.out_of_hours.value):
        return await send(session, conv, ooh)
    return False


async def high_load(session: AsyncSession, conv: Conversation) -> bool:
    if conv.status != Status.queued.value or conv.assignee_id is not None or conv.queue_id is None:
        return False
    rule = await _rule(session, conv, Kind.high_load)
    if rule is None or (await _occasion(session, conv)).already(Kind.high_load.value):
        return False
    if await _answers_automatic(session, conv):
        return False
    est = await waits.estimate(session, conv)
    over_position = rule.min_position is not None and est.position > rule.min_position
    over_wait = rule.min_wait_minutes is not None and est.wait_minutes > rule.min_wait_minutes
    if not (over_position or over_wait):
        return False
    return await send(session, conv, rule)


async def closing(session: AsyncSession, conv: Conversation) -> bool:
    if conv.status != Status.resolved.value:
        return False
    rule = await _rule(session, conv, Kind.closing)
    if rule is None or (await _occasion(session, conv)).already(Kind.closing.value):
        return False
    return await send(session, conv, rule)


async def _conversation(session: AsyncSession, event: hooks.DomainEvent) -> Conversation | None:
    conv_id = event.data.get("conversation_id")
    if not isinstance(conv_id, int):
        return None
    if not await service.has_rules(session, event.workspace_id):
        return None  # most workspaces: a batch of new conversations learns it once
    # The emitter holds the conversation in this session: no query (a new one had two).
    conv = await conversations.held(session, conv_id)
    if conv is None or conv.workspace_id != event.workspace_id:
        return None
    return conv


async def on_created(session: AsyncSession, event: hooks.DomainEvent) -> None:
    conv = await _conversation(session, event)
    if conv is None:
        return
    closed_replied = await greet(session, conv)
    if not closed_replied:  # "you are number 5" means little while nobody is at work
        await high_load(session, conv)


async def on_queued(session: AsyncSession, event: hooks.DomainEvent) -> None:
    conv = await _conversation(session, event)
    if conv is not None:
        await high_load(session, conv)


async def on_resolved(session: AsyncSession, event: hooks.DomainEvent) -> None:
    if event.data.get("by") == "bot":
        return  # the flow's end node says goodbye itself
    conv = await _conversation(session, event)
    if conv is not None:
        await closing(session, conv)


def register() -> None:
    hooks.on("conversation.created", on_created)
    hooks.on("conversation.queued", on_queued)
    hooks.on("conversation.resolved", on_resolved)
