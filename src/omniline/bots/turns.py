"""The bot's turns, as durable jobs: each customer message advances the flow once, in order,
and a restart in the middle of a flow continues where it stood.

A ``bot_turn`` job reads every customer message the session has not read yet, under a lock
of the session row, so two messages at once (or two workers) advance the flow one after the
other. What the bot says is stored and delivered like any outbound message; silence gets a
reminder and then a close through ``bot_silence`` jobs that check the turn they were set for.
"""

from __future__ import annotations

import logging
from collections.abc import Hashable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
import orjson
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.bots import ahead, defaults, faq
from omniline.bots.engine import Context, Engine, HttpFailed, Input, Outcome, Result, Say, State
from omniline.bots.graph import Graph
from omniline.bots.models import BotFlow, BotFlowVersion, BotSession, SessionStatus
from omniline.bots.service import secret_values
from omniline.contacts.models import Contact, ContactEvent
from omniline.conversations import transfers
from omniline.conversations.models import (
    AuthorType,
    Conversation,
    ConversationTag,
    Direction,
    Message,
    Status,
)
from omniline.conversations.system_messages import do_send_system_message
from omniline.db import rollback
from omniline.inboxes.models import Inbox
from omniline.jobs import service as jobs
from omniline.jobs.registry import job
from omniline.kit.clock import utcnow
from omniline.workspaces.models import Queue

log = logging.getLogger(__name__)

# Channels without buttons get numbered options in the text (and digits are understood).
NUMBERED = frozenset({"email", "sms"})
MAX_MESSAGES_PER_TURN = 20
MAX_JUMPS = 5
HTTP_ANSWER_MAX = 1_000_000
_graphs: dict[tuple[int, float], Graph] = {}


def version_key(version: BotFlowVersion) -> tuple[int, float]:
    """Versions never change; the time tells a restored or another database's apart."""
    return version.id, version.created_at.timestamp()


def cached_graph(key: tuple[int, float]) -> Graph | None:
    return _graphs.get(key)


def graph_of(version: BotFlowVersion) -> Graph:
    key = version_key(version)
    hit = _graphs.get(key)
    if hit is None:
        if len(_graphs) > 1000:
            _graphs.clear()
        hit = _graphs[key] = Graph.model_validate(version.graph)
    return hit


async def call_http(
    method: str, url: str, headers: dict[str, str], body: Any, seconds: float
) -> Any:
    """The JSON answer of the lender's system; anything else raises :class:`HttpFailed`."""
    try:
        async with httpx.AsyncClient(timeout=seconds, follow_redirects=False) as client:
            response = await client.request(
                method, url, headers=headers, json=body if body is not None else None
            )
    except (httpx.HTTPError, ValueError) as exc:
        raise HttpFailed(f"{type(exc).__name__}: {exc}"[:200]) from None
    if not 200 <= response.status_code < 300:
        raise HttpFailed(f"the server answered {response.status_code}")
    if len(response.content) > HTTP_ANSWER_MAX:
        raise HttpFailed("the answer is too large")
    try:
        return orjson.loads(response.content) if response.content else {}
    except orjson.JSONDecodeError:
        raise HttpFailed("the answer is not JSON") from None


@dataclass
class _Effects:
    """The outside world of one conversation's turn."""

    session: AsyncSession
    conv: Conversation
    version_id: Hashable
    graph: Graph
    secrets: dict[str, str]
    # (version key, text) -> the answer of the FAQ matcher, matched ahead (bots/ahead.py)
    matched: dict[tuple[Hashable, str], tuple[str | None, float]] = field(default_factory=dict)

    async def http(
        self, method: str, url: str, headers: dict[str, str], body: Any, seconds: float
    ) -> Any:
        return await call_http(method, url, headers, body, seconds)

    async def faq(self, text: str) -> tuple[str | None, float]:
        found = self.matched.get((self.version_id, text))
        if found is not None:
            return found
        return await faq.match(self.version_id, self.graph, text)

    async def business_hours(self, calendar_id: int) -> bool:
        from omniline.sla.calendars import is_business_time

        try:
            return bool(await is_business_time(self.session, calendar_id, utcnow()))
        except Exception:  # a deleted calendar counts as closed
            return False

    async def has_event(self, name: str) -> bool:
        found = await self.session.scalar(
            select(ContactEvent.id)
            .where(ContactEvent.contact_id == self.conv.contact_id, ContactEvent.name == name)
            .limit(1)
        )
        return found is not None

    async def set_attribute(self, name: str, value: str) -> None:
        contact = await self.session.get(Contact, self.conv.contact_id)
        if contact is not None:
            contact.attributes = {**(contact.attributes or {}), name[:64]: value}

    async def add_tag(self, tag: str) -> None:
        tag = tag.strip().lower()[:64]
        if tag and tag not in (self.conv.tags or []):
            self.conv.tags = sorted({*(self.conv.tags or []), tag})
            self.session.add(
                ConversationTag(
                    conversation_id=self.conv.id, tag=tag, workspace_id=self.conv.workspace_id
                )
            )

    def secret(self, name: str) -> str | None:
        return self.secrets.get(name)


async def _context(session: AsyncSession, conv: Conversation) -> Context:
    contact = await session.get(Contact, conv.contact_id)
    info: dict[str, Any] = {}
    region = None
    if contact is not None:
        info = {
            "name": contact.name,
            "email": contact.email,
            "phone": contact.phone,
            "external_id": contact.external_id,
            "attributes": dict(contact.attributes or {}),
        }
        region = contact.country
    return Context(channel=conv.channel, conversation_id=conv.id, contact=info, region=region)


def _state(bs: BotSession) -> State:
    return State(
        node=bs.node,
        variables=dict(bs.variables or {}),
        language=bs.language,
        misses=bs.misses,
        retries=bs.retries,
        path=list(bs.path or []),
    )


def _store(bs: BotSession, state: State) -> None:
    bs.node = state.node
    bs.variables = state.variables
    bs.language = state.language
    bs.misses, bs.retries = state.misses, state.retries
    bs.path = state.path


def shown(say: Say, channel: str, language: str) -> tuple[str, dict[str, Any]]:
    """The text and meta of one bot message as this channel can show it."""
    text, meta = say.text, {}
    links = [f"{m['caption']}: {m['url']}" if m.get("caption") else m["url"] for m in say.media]
    if channel in NUMBERED:
        lines = []
        for i, b in enumerate(say.buttons):
            lines.append(f"{b['text']}: {b['url']}" if b.get("url") else f"{i + 1}. {b['text']}")
        if any(not b.get("url") for b in say.buttons):
            lines.append(defaults.text("choose_number", language))
        text = "\n\n".join(part for part in (text, "\n".join(links), "\n".join(lines)) if part)
    else:
        if say.buttons:
            meta["buttons"] = say.buttons
        if links:
            text = "\n".join([text, *links]) if text else "\n".join(links)
    return text, meta


async def _say(session: AsyncSession, conv: Conversation, says: list[Say], language: str) -> None:
    for say in says:
        text, meta = shown(say, conv.channel, language)
        if not text.strip():
            continue
        await do_send_system_message(
            session, conv, text, author_type=AuthorType.bot.value, kind="bot", meta=meta
        )


async def _handoff(
    session: AsyncSession, conv: Conversation, bs: BotSession, outcome: Outcome
) -> None:
    from omniline.routing.service import route_new_conversation

    queue_id = None
    if outcome.queue:
        queue_id = await session.scalar(
            select(Queue.id).where(
                Queue.workspace_id == conv.workspace_id, Queue.name == outcome.queue
            )
        )
        if queue_id is not None:
            conv.queue_id = queue_id
    if outcome.topic:
        conv.topic = outcome.topic[:100]
    if outcome.priority is not None:
        conv.priority = outcome.priority
    variables = {k: v for k, v in (bs.variables or {}).items() if k not in ("last_message",)}
    await route_new_conversation(
        session,
        conv,
        first_text=str(variables.get("first_message") or ""),
        topic=conv.topic,
        variables=variables,
    )
    bs.status = SessionStatus.handed_over.value
    bs.outcome = outcome.reason
    bs.ended_at = utcnow()
    await transfers.do_bot_handoff(
        session,
        conv,
        reason=outcome.reason,
        data={"variables": _shown_variables(variables), "flow_id": bs.flow_id},
    )


def _shown_variables(variables: dict[str, Any]) -> dict[str, Any]:
    return {
        k: v if isinstance(v, int | float | bool) else str(v)[:500] for k, v in variables.items()
    }


async def _end(
    session: AsyncSession, conv: Conversation, bs: BotSession, reason: str, status: str
) -> None:
    bs.status = status
    bs.outcome = reason
    bs.ended_at = utcnow()
    bs.node = None
    await transfers.do_bot_resolve(session, conv, reason=reason)


async def _version(session: AsyncSession, bs: BotSession) -> BotFlowVersion | None:
    return await session.get(BotFlowVersion, bs.version_id)


async def _jump(session: AsyncSession, bs: BotSession, key: str) -> BotFlowVersion | None:
    flow = await session.scalar(
        select(BotFlow).where(BotFlow.workspace_id == bs.workspace_id, BotFlow.key == key)
    )
    if flow is None or flow.published_version_id is None:
        return None
    version = await session.get(BotFlowVersion, flow.published_version_id)
    if version is not None:
        # The session stays counted under the flow it started in (the funnel); it now runs
        # the version it jumped to.
        bs.version_id = version.id
    return version


async def _lock(session: AsyncSession, conversation_id: int) -> BotSession | None:
    """The session row, locked until commit: a write comes first, so that a second turn of the
    conversation (another worker's, on PostgreSQL) waits here, then reads what the first one
    stored."""
    found: BotSession | None = await session.scalar(
        update(BotSession)
        .where(BotSession.conversation_id == conversation_id)
        .values(updated_at=utcnow())
        .returning(BotSession)
        .execution_options(populate_existing=True)
    )
    return found


async def _read(session: AsyncSession, conversation_id: int) -> BotSession | None:
    """The session row, read without writing (SQLite: see :func:`run_turns`)."""
    found: BotSession | None = await session.scalar(
        select(BotSession)
        .where(BotSession.conversation_id == conversation_id)
        .execution_options(populate_existing=True)
    )
    return found


async def _still_ours(session: AsyncSession, conversation_id: int, turn: int) -> bool:
    """SQLite: the turn's first write. It takes the database's write lock and checks that
    nothing changed the session since it was read (an agent took the conversation over, or
    a turn of another process ran): from here until the commit nothing else can."""
    done = await session.execute(
        update(BotSession)
        .where(
            BotSession.conversation_id == conversation_id,
            BotSession.status == SessionStatus.active.value,
            BotSession.turn == turn,
        )
        .values(updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(done, "rowcount", 0))


async def run_turns(session: AsyncSession, conversation_id: int) -> None:
    """One turn: every customer message not read yet, through the flow, in order.

    On PostgreSQL the session row is locked first. SQLite has one write lock for the whole
    database, held from a transaction's first write to its commit, and turns there run in
    one job runner, a conversation's one after another (``jobs/runner.py``, lanes). So there
    the turn reads and runs the flow (the FAQ matcher, a CRM that takes seconds to answer)
    before it writes anything, and its first write checks the session is as it was read."""
    # The questions matched since their messages came, awaited before the lock is taken.
    matched = await ahead.ready(session, conversation_id)
    one_writer = session.get_bind().dialect.name == "sqlite"
    bs = await (_read if one_writer else _lock)(session, conversation_id)
    if bs is None or bs.status != SessionStatus.active.value:
        return
    turn = bs.turn
    conv = await session.get(Conversation, conversation_id)
    if conv is None:
        return
    if conv.status != Status.bot.value:
        # An agent took it over, or it was closed: the flow stops here.
        bs.status, bs.outcome, bs.ended_at = SessionStatus.dropped.value, "taken_over", utcnow()
        return
    messages = list(
        await session.scalars(
            select(Message)
            .where(
                Message.conversation_id == conv.id,
                Message.direction == Direction.inbound.value,
                Message.id > bs.last_message_id,
            )
            .order_by(Message.id)
            .limit(MAX_MESSAGES_PER_TURN)
        )
    )
    if not messages and bs.turn > 0:
        return
    version = await _version(session, bs)
    if version is None:
        return
    ctx = await _context(session, conv)
    secrets = await secret_values(session, conv.workspace_id)
    # Held for the turn: each message the bot sends looks the inbox up (the session's identity
    # map keeps an object only while something refers to it).
    inbox = await session.get(Inbox, conv.inbox_id)
    state = _state(bs)
    inputs: list[Message | None] = list(messages) or [None]
    outcome = Outcome("wait")
    read = 0
    spoken: list[tuple[list[Say], str]] = []
    for msg in inputs:
        given = None
        if msg is not None:
            payload = (msg.meta or {}).get("button_payload")
            given = Input(
                text=msg.text or "", payload=payload if isinstance(payload, str) else None
            )
        result = await _run(session, conv, bs, version, ctx, secrets, state, given, matched)
        outcome = result.outcome
        spoken.append((result.says, state.language))
        if msg is not None:
            read = msg.id  # stored with the state below: one write of the session row
        if outcome.kind != "wait":
            break
    if one_writer and not await _still_ours(session, conversation_id, turn):
        await rollback(session)  # nothing said, nothing stored: the flow stopped meanwhile
        return
    for says, language in spoken:
        await _say(session, conv, says, language)
    if read:
        bs.last_message_id = read
    _store(bs, state)
    bs.turn += 1
    bs.reminded = False
    if outcome.kind == "handoff":
        await _handoff(session, conv, bs, outcome)
    elif outcome.kind == "resolved":
        await _end(session, conv, bs, "resolved", SessionStatus.resolved.value)
    else:
        await _schedule_silence(session, bs, version)
    del inbox  # (held until here)
    if bs.status == SessionStatus.active.value and bs.version_id == version.id:
        # Where the next message will find the flow, for matching it ahead (once committed).
        ahead.remember(session, conversation_id, version_key(version), graph_of(version), bs.node)
    else:
        ahead.forget(conversation_id)


async def _run(
    session: AsyncSession,
    conv: Conversation,
    bs: BotSession,
    version: BotFlowVersion,
    ctx: Context,
    secrets: dict[str, str],
    state: State,
    given: Input | None,
    matched: dict[tuple[Hashable, str], tuple[str | None, float]],
) -> Result:
    graph = graph_of(version)
    engine = Engine(
        graph,
        ctx,
        _Effects(session, conv, version_key(version), graph, secrets, matched),
        prefix=f"{version.flow_id}:",
    )
    result = await engine.run(state, given)
    says = list(result.says)
    for _ in range(MAX_JUMPS):
        if result.outcome.kind != "jump":
            break
        target = await _jump(session, bs, result.outcome.flow or "")
        if target is None:
            result = Result(says, Outcome("handoff", reason="error"), state)
            break
        graph = graph_of(target)
        engine = Engine(
            graph,
            ctx,
            _Effects(session, conv, version_key(target), graph, secrets, matched),
            prefix=f"{target.flow_id}:",
        )
        state.node = None
        result = await engine.run(state, None)
        says.extend(result.says)
    else:
        if result.outcome.kind == "jump":
            result = Result(says, Outcome("handoff", reason="error"), state)
    return Result(says, result.outcome, state)


async def _schedule_silence(session: AsyncSession, bs: BotSession, version: BotFlowVersion) -> None:
    settings = graph_of(version).settings
    await jobs.enqueue(
        session,
        "bot_silence",
        {"conversation_id": bs.conversation_id, "turn": bs.turn},
        run_at=utcnow() + timedelta(seconds=settings.reminder_seconds),
        workspace_id=bs.workspace_id,
    )


# Concurrent: turns of different conversations overlap on PostgreSQL; two of one conversation
# queue on its session row's lock, and the first reads every message not read yet, in order.
@job("bot_turn")
async def bot_turn(session: AsyncSession, payload: dict[str, Any]) -> None:
    await run_turns(session, int(payload["conversation_id"]))


@job("bot_silence")
async def bot_silence(session: AsyncSession, payload: dict[str, Any]) -> None:
    """No answer since turn ``turn``: remind once, then close."""
    bs = await _lock(session, int(payload["conversation_id"]))
    if bs is None or bs.status != SessionStatus.active.value or bs.turn != payload.get("turn"):
        return
    conv = await session.get(Conversation, bs.conversation_id)
    version = await _version(session, bs)
    if conv is None or version is None or conv.status != Status.bot.value:
        return
    graph = graph_of(version)
    engine = Engine(
        graph,
        Context(conv.channel, conv.id),
        _Effects(session, conv, version_key(version), graph, {}),
    )
    state = _state(bs)
    if not bs.reminded:
        text = (
            engine.pick(graph.settings.reminder_text, state)
            if graph.settings.reminder_text
            else defaults.text("reminder", engine.lang(state))
        )
        await _say(session, conv, [Say(text)], state.language)
        bs.reminded = True
        wait = max(graph.settings.close_seconds - graph.settings.reminder_seconds, 10)
        await jobs.enqueue(
            session,
            "bot_silence",
            {"conversation_id": bs.conversation_id, "turn": bs.turn},
            run_at=utcnow() + timedelta(seconds=wait),
            workspace_id=bs.workspace_id,
        )
        return
    await _say(
        session, conv, [Say(defaults.text("closed_silence", engine.lang(state)))], state.language
    )
    await _end(session, conv, bs, "silence", SessionStatus.dropped.value)
