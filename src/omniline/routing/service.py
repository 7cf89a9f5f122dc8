"""Routing a new conversation, and the dry run the admin editor shows.

``route_new_conversation`` runs inside ``receive_inbound``'s transaction: it only
flushes. Compiled rules are cached per process, keyed by the workspace's rule
version (one indexed read per routing), so a change from any process is seen at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

# The module, not its names: conversations.service imports this module to route.
from omniline.conversations import notify
from omniline.conversations import service as conversations
from omniline.conversations.models import (
    Conversation,
    ConversationEvent,
    ConversationTag,
    Status,
)
from omniline.errors import NoSuch, NotFound
from omniline.inboxes.models import Inbox
from omniline.kit.clock import utcnow
from omniline.routing import repository
from omniline.routing.conditions import (
    CompiledRules,
    Context,
    RuleSpec,
    compile_rules,
    describe,
    evaluate,
    trace,
)
from omniline.routing.schemas import Actions, conditions_adapter
from omniline.workspaces.models import Queue

BUSINESS_CACHE_MAX = 4096


@dataclass(frozen=True, slots=True)
class _Cached:
    version: int
    compiled: CompiledRules
    # Queue names as of compiling: the ``routed`` event names the queue without a query.
    queue_names: dict[int, str]


_CACHE: dict[int, _Cached] = {}
_CACHE_MAX = 10_000  # workspaces; a rough bound so a huge installation cannot grow it forever
# Whether a calendar is open, per calendar and minute: calendars are minute-grained, so
# an answer holds for its minute (an edited calendar counts from the next minute).
_OPEN: dict[tuple[int, datetime], bool] = {}


@dataclass(slots=True)
class Decision:
    """What the winning rule decided (``None`` fields: the rule leaves that as it was)."""

    rule_id: int
    rule_name: str
    queue_id: int | None = None
    queue_name: str | None = None
    priority: int | None = None
    tags: list[str] = field(default_factory=list)
    language: str | None = None
    skip_bot: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def clear_cache() -> None:
    _CACHE.clear()
    _OPEN.clear()


async def _rules_at(session: AsyncSession, workspace_id: int, version: int) -> _Cached:
    hit = _CACHE.get(workspace_id)
    if hit is not None and hit.version == version:
        return hit
    rows = await repository.rules(session, workspace_id)
    compiled = compile_rules(
        [
            RuleSpec(
                id=r.id,
                name=r.name,
                priority=r.priority,
                position=r.position,
                enabled=r.enabled,
                conditions=conditions_adapter.validate_python(r.conditions),
                actions=Actions.model_validate(r.actions),
            )
            for r in rows
        ]
    )
    rows_q = await session.execute(
        select(Queue.id, Queue.name).where(Queue.workspace_id == workspace_id)
    )
    names = {qid: name for qid, name in rows_q.all()}
    if len(_CACHE) >= _CACHE_MAX:
        _CACHE.clear()
    cached = _Cached(version, compiled, names)
    _CACHE[workspace_id] = cached
    return cached


async def compiled_rules(session: AsyncSession, workspace_id: int) -> CompiledRules:
    version = await repository.version(session, workspace_id)
    return (await _rules_at(session, workspace_id, version)).compiled


async def _business_hours(
    session: AsyncSession, calendar_ids: frozenset[int], at: datetime
) -> dict[int, bool]:
    """Which calendars are open at ``at``; empty when the calendars domain is absent."""
    if not calendar_ids:
        return {}
    try:  # omniline.sla is a sibling domain; imported lazily so routing works without it
        from omniline.sla.calendars import is_business_time
    except ImportError:
        return {}
    minute = at.replace(second=0, microsecond=0)
    out: dict[int, bool] = {}
    for cal in sorted(calendar_ids):
        known = _OPEN.get((cal, minute))
        if known is None:
            try:
                known = bool(await is_business_time(session, cal, at))
            except NotFound:  # deleted after the rule was saved: matches neither open nor closed
                continue
            if len(_OPEN) >= BUSINESS_CACHE_MAX:
                _OPEN.clear()
            _OPEN[(cal, minute)] = known
        out[cal] = known
    return out


async def _prepare(
    session: AsyncSession,
    *,
    workspace_id: int,
    contact_id: int,
    inbox_id: int,
    channel: str,
    first_text: str,
    to_address: str | None,
    topic: str | None,
    language: str | None = None,
    at: datetime | None = None,
) -> tuple[_Cached, Context, bool]:
    """Rules and context in one round trip when the cached rules are current.

    The event columns are those the cached rules ask about; when the rules changed
    and ask about other events, those are read in a second query.
    """
    now = at or utcnow()
    asked = _asked(workspace_id)
    facts = await repository.routing_facts(session, workspace_id, contact_id, asked)
    cached = await _rules_at(session, workspace_id, facts.version)
    ctx = await _context(
        session, cached, facts, asked, contact_id=contact_id, inbox_id=inbox_id,
        channel=channel, first_text=first_text, to_address=to_address, topic=topic,
        language=language, now=now,
    )  # fmt: skip
    return cached, ctx, facts.contact_found


def _asked(workspace_id: int) -> frozenset[str]:
    """The contact events the cached rules ask about (read with the facts)."""
    hit = _CACHE.get(workspace_id)
    return hit.compiled.event_names if hit is not None else frozenset()


async def _context(
    session: AsyncSession,
    cached: _Cached,
    facts: repository.Facts,
    asked: frozenset[str],
    *,
    contact_id: int,
    inbox_id: int,
    channel: str,
    first_text: str,
    to_address: str | None,
    topic: str | None,
    language: str | None,
    now: datetime,
) -> Context:
    events = facts.events
    if events is None or not cached.compiled.event_names <= asked:
        events = await repository.latest_events(session, contact_id, cached.compiled.event_names)
    return Context(
        now=now,
        inbox_id=inbox_id,
        channel=channel,
        to_address=to_address,
        language=language or facts.language,
        country=facts.country,
        topic=topic,
        first_text=first_text,
        attributes=facts.attributes,
        events=events,
        business=await _business_hours(session, cached.compiled.calendar_ids, now),
    )


async def build_context(
    session: AsyncSession,
    *,
    workspace_id: int,
    contact_id: int,
    inbox_id: int,
    channel: str,
    first_text: str,
    to_address: str | None = None,
    topic: str | None = None,
    at: datetime | None = None,
) -> Context:
    """The routing context of a contact (the benchmark prepares contexts with it)."""
    _, ctx, _ = await _prepare(
        session, workspace_id=workspace_id, contact_id=contact_id, inbox_id=inbox_id,
        channel=channel, first_text=first_text, to_address=to_address, topic=topic, at=at,
    )  # fmt: skip
    return ctx


def _decision(cached: _Cached, spec: RuleSpec) -> Decision:
    a = spec.actions
    queue_id = a.queue_id
    queue_name = cached.queue_names.get(queue_id) if queue_id is not None else None
    if queue_name is None:  # the queue is gone since the rule was saved: keep the inbox's
        queue_id = None
    return Decision(
        rule_id=spec.id,
        rule_name=spec.name,
        queue_id=queue_id,
        queue_name=queue_name,
        priority=a.priority,
        tags=list(a.tags),
        language=a.language,
        skip_bot=a.skip_bot,
    )


async def decide(
    session: AsyncSession,
    conv: Conversation,
    *,
    first_text: str,
    to_address: str | None = None,
    topic: str | None = None,
    variables: Mapping[str, Any] | None = None,
) -> Decision | None:
    """What the winning rule would do to ``conv``, changing nothing (one query when cached).

    ``variables`` (a bot's, at handoff) are seen by the rules as attributes ``bot.NAME``.
    """
    cached, ctx, _ = await _prepare(
        session,
        workspace_id=conv.workspace_id,
        contact_id=conv.contact_id,
        inbox_id=conv.inbox_id,
        channel=conv.channel,
        first_text=first_text,
        to_address=to_address,
        topic=topic,
        language=conv.language,
    )
    if variables:
        extra = {f"bot.{k}": v for k, v in variables.items()}
        ctx = replace(ctx, attributes={**ctx.attributes, **extra})
    spec = evaluate(cached.compiled, ctx)
    return _decision(cached, spec) if spec is not None else None


async def route_new_conversation(
    session: AsyncSession,
    conv: Conversation,
    *,
    first_text: str,
    to_address: str | None = None,
    topic: str | None = None,
    variables: Mapping[str, Any] | None = None,
) -> Decision | None:
    """Apply the winning rule to a just-created (flushed) conversation, or to one a bot hands
    over (``variables``: the flow's, which never skip the bot it has left); None when none
    matches.

    Records a ``routed`` timeline event with the rule and the queue. Call it before
    the conversation's ``queued`` event so that event names the routed queue.
    """
    decision = await decide(
        session, conv, first_text=first_text, to_address=to_address, topic=topic,
        variables=variables,
    )  # fmt: skip
    if decision is None:
        return None
    if variables is not None:
        decision.skip_bot = False
    ev = _record(session, conv, decision)
    await session.flush()
    notify.timeline_event(session, conv, ev)
    return decision


@dataclass(slots=True)
class NewConversation:
    """A just-created (flushed) conversation and what its first message says."""

    conv: Conversation
    first_text: str
    to_address: str | None = None
    topic: str | None = None


async def route_new_conversations(
    session: AsyncSession, items: list[NewConversation]
) -> list[Decision | None]:
    """:func:`route_new_conversation` for a batch: the rule version and the contacts'
    facts are read in one query per workspace, the ``routed`` events in one flush."""
    decisions: list[Decision | None] = [None] * len(items)
    routed: list[tuple[Conversation, ConversationEvent]] = []
    now = utcnow()
    for workspace_id in sorted({it.conv.workspace_id for it in items}):
        mine = [i for i, it in enumerate(items) if it.conv.workspace_id == workspace_id]
        asked = _asked(workspace_id)
        facts = await repository.routing_facts_many(
            session, workspace_id, [items[i].conv.contact_id for i in mine], asked
        )
        for i in mine:
            it, conv = items[i], items[i].conv
            contact_facts = facts[conv.contact_id]
            cached = await _rules_at(session, workspace_id, contact_facts.version)
            if not cached.compiled.rules:
                continue  # no rule can match: no context to build
            ctx = await _context(
                session, cached, contact_facts, asked, contact_id=conv.contact_id,
                inbox_id=conv.inbox_id, channel=conv.channel, first_text=it.first_text,
                to_address=it.to_address, topic=it.topic, language=conv.language, now=now,
            )  # fmt: skip
            spec = evaluate(cached.compiled, ctx)
            if spec is None:
                continue
            decisions[i] = decision = _decision(cached, spec)
            routed.append((conv, _record(session, conv, decision)))
    if routed:
        await session.flush()
        for conv, ev in routed:
            notify.timeline_event(session, conv, ev)
    return decisions


def _record(session: AsyncSession, conv: Conversation, decision: Decision) -> ConversationEvent:
    """Apply the decision and add its ``routed`` timeline event (not flushed)."""
    _apply(session, conv, decision)
    return conversations._add_event(
        session,
        conv,
        "routed",
        conversations.SYSTEM,
        {
            "rule_id": decision.rule_id,
            "rule_name": decision.rule_name,
            "queue_id": conv.queue_id,
            "queue_name": decision.queue_name,
        },
    )


def _apply(session: AsyncSession, conv: Conversation, d: Decision) -> None:
    if d.queue_id is not None:
        conv.queue_id = d.queue_id
    if d.priority is not None:
        conv.priority = d.priority
    if d.language is not None:
        conv.language = d.language
    if d.tags:
        before = list(conv.tags or [])
        added = [t for t in d.tags if t not in before]
        conv.tags = sorted({*before, *added})
        session.add_all(
            ConversationTag(conversation_id=conv.id, tag=t, workspace_id=conv.workspace_id)
            for t in added
        )
    if d.skip_bot and conv.status == Status.bot.value:
        conv.status = Status.queued.value
        conv.first_queued_at = conv.first_queued_at or utcnow()


async def dry_run(
    session: AsyncSession,
    workspace_id: int,
    contact_id: int,
    first_text: str,
    inbox_id: int,
    *,
    to_address: str | None = None,
    topic: str | None = None,
    at: datetime | None = None,
) -> dict[str, Any]:
    """What routing would decide for this contact, and why each rule did or did not match.

    Changes nothing.
    """
    inbox = await session.scalar(
        select(Inbox).where(Inbox.id == inbox_id, Inbox.workspace_id == workspace_id)
    )
    if inbox is None:
        raise NoSuch("inbox_id", "no such inbox in this workspace")
    cached, ctx, found = await _prepare(
        session,
        workspace_id=workspace_id,
        contact_id=contact_id,
        inbox_id=inbox.id,
        channel=inbox.channel,
        first_text=first_text,
        to_address=to_address,
        topic=topic,
        at=at,
    )
    if not found:
        raise NoSuch("contact", "no such contact in this workspace")
    compiled = cached.compiled
    spec = evaluate(compiled, ctx)
    decision = _decision(cached, spec) if spec is not None else None
    rows = []
    for t in trace(compiled, ctx):
        failed = None
        if t.failed_index is not None:
            cond = t.rule.conditions[t.failed_index]
            failed = {"index": t.failed_index, "description": describe(cond)}
        rows.append(
            {
                "rule_id": t.rule.id,
                "rule_name": t.rule.name,
                "priority": t.rule.priority,
                "enabled": not t.skipped,
                "matched": t.matched,
                "winner": spec is not None and t.rule.id == spec.id,
                "failed_condition": failed,
            }
        )
    return {
        "matched_rule": {"id": spec.id, "name": spec.name} if spec is not None else None,
        "decision": decision.as_dict() if decision is not None else None,
        "default_queue_id": inbox.default_queue_id,
        "trace": rows,
        "context": {
            "channel": ctx.channel,
            "inbox_id": ctx.inbox_id,
            "language": ctx.language,
            "country": ctx.country,
            "events": sorted(ctx.events),
            "attributes": ctx.attributes,
        },
    }
