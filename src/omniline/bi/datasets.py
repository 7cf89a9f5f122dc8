"""The five datasets that leave for BI tools, column by column, and how to read a page of one.

Each column has a name, a type (``int``, ``str``, ``bool``, ``datetime``, ``float``) and a
meaning; docs/bi.md lists the same. The API and the export read through ``page`` so that a
file and an answer of the API never disagree. Nothing here selects a message's text, a
survey's comment or an event's details (which can quote what a customer wrote).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.channels.voice.models import VoiceCall
from omniline.conversations.models import Attachment, Conversation, ConversationEvent, Message
from omniline.surveys.models import SurveyAnswer


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    type: str
    meaning: str
    expr: Any


@dataclass(frozen=True, slots=True)
class Dataset:
    name: str
    table: Any  # the model whose id orders and pages the rows
    columns: tuple[Column, ...]
    created: Any  # the moment ``from``/``to`` and the daily export filter on
    changed: Callable[[datetime], ColumnElement[bool]]  # rows changed since a moment
    joins: Callable[[Select[Any]], Select[Any]] = lambda s: s


def _c(name: str, type_: str, meaning: str, expr: Any) -> Column:
    return Column(name, type_, meaning, expr)


C, M, E, V, S = Conversation, Message, ConversationEvent, VoiceCall, SurveyAnswer

_attachments = (
    select(func.count())
    .select_from(Attachment)
    .where(Attachment.message_id == M.id)
    .correlate(M)
    .scalar_subquery()
)

CONVERSATIONS = Dataset(
    "conversations",
    C,
    (
        _c("id", "int", "conversation id", C.id),
        _c("inbox_id", "int", "inbox (entry point) it came through", C.inbox_id),
        _c(
            "channel",
            "str",
            "webchat, email, telegram, whatsapp, vk, messenger, voice...",
            C.channel,
        ),
        _c("contact_id", "int", "the customer", C.contact_id),
        _c("queue_id", "int", "queue it is in (empty: none)", C.queue_id),
        _c("assignee_id", "int", "agent it is assigned to (empty: nobody)", C.assignee_id),
        _c("status", "str", "bot, queued, assigned, waiting_customer, resolved, closed", C.status),
        _c("priority", "int", "0 normal, higher first", C.priority),
        _c("language", "str", "language code (empty: unknown)", C.language),
        _c("topic", "str", "topic (imported calls: the call type)", C.topic),
        _c("created_at", "datetime", "when it started (UTC)", C.created_at),
        _c("first_queued_at", "datetime", "first entry into a queue (UTC)", C.first_queued_at),
        _c("first_assigned_at", "datetime", "first assignment (UTC)", C.first_assigned_at),
        _c("first_agent_reply_at", "datetime", "first agent reply (UTC)", C.first_agent_reply_at),
        _c("resolved_at", "datetime", "last resolution (UTC)", C.resolved_at),
        _c("last_activity_at", "datetime", "last change of any kind (UTC)", C.last_activity_at),
    ),
    C.created_at,
    lambda since: C.last_activity_at >= since,
)

MESSAGES = Dataset(
    "messages",
    M,
    (
        _c("id", "int", "message id", M.id),
        _c("conversation_id", "int", "its conversation", M.conversation_id),
        _c("direction", "str", "in (from the customer) or out", M.direction),
        _c("sender_type", "str", "contact, agent, bot or system", M.author_type),
        _c("sender_id", "int", "the agent's user id (agents only)", M.author_id),
        _c("channel", "str", "channel of the conversation", C.channel),
        _c("private", "bool", "an internal note, never sent to the customer", M.private),
        _c(
            "delivery_status",
            "str",
            "received, queued, sent, delivered, read, failed",
            M.delivery_status,
        ),
        _c("created_at", "datetime", "when it was written (UTC)", M.created_at),
        _c(
            "length",
            "int",
            "characters of text (the text itself is never exported)",
            func.length(M.text),
        ),
        _c("attachments", "int", "number of attached files", _attachments),
    ),
    M.created_at,
    lambda since: M.created_at >= since,
    lambda s: s.join(C, C.id == M.conversation_id),
)

EVENTS = Dataset(
    "events",
    E,
    (
        _c("id", "int", "event id", E.id),
        _c("conversation_id", "int", "its conversation", E.conversation_id),
        _c(
            "type",
            "str",
            "created, queued, assigned, resolved, call_answered... (docs/bi.md)",
            E.type,
        ),
        _c("actor_type", "str", "who did it: contact, agent, bot, system", E.actor_type),
        _c("actor_id", "int", "the agent's user id when an agent did it", E.actor_id),
        _c("created_at", "datetime", "when it happened (UTC)", E.created_at),
    ),
    E.created_at,
    lambda since: E.created_at >= since,
)

CALLS = Dataset(
    "calls",
    V,
    (
        _c("id", "int", "call id", V.id),
        _c("conversation_id", "int", "its conversation", V.conversation_id),
        _c("inbox_id", "int", "phone line", V.inbox_id),
        _c("contact_id", "int", "the customer", V.contact_id),
        _c("direction", "str", "in or out", V.direction),
        _c("queue_id", "int", "queue it waited in", V.queue_id),
        _c("agent_id", "int", "agent who answered (empty: none, or not a user)", V.agent_id),
        _c("priority", "int", "priority in the queue", V.priority),
        _c("arrived_at", "datetime", "call start (UTC)", V.arrived_at),
        _c("queued_at", "datetime", "entered the queue (empty: never offered) (UTC)", V.queued_at),
        _c("answered_at", "datetime", "answered by an agent (UTC)", V.answered_at),
        _c("ended_at", "datetime", "hung up (UTC)", V.ended_at),
        _c(
            "end_reason",
            "str",
            "answered, abandoned, ivr, overflow, expired, transferred, callback, lost, failed",
            V.end_reason,
        ),
        _c(
            "short_abandon", "bool", "abandoned within the short-abandon threshold", V.short_abandon
        ),
        _c("hold_s", "float", "seconds on hold", V.hold_s),
        _c("disposition", "str", "the agent's wrap-up code", V.disposition),
        _c("csat", "int", "score the caller gave after the call", V.csat),
    ),
    V.created_at,
    lambda since: or_(V.created_at >= since, V.ended_at >= since),
)

SURVEYS = Dataset(
    "surveys",
    S,
    (
        _c("id", "int", "answer id", S.id),
        _c("conversation_id", "int", "its conversation", S.conversation_id),
        _c("agent_id", "int", "agent rated", S.agent_id),
        _c("channel", "str", "channel of the conversation", S.channel),
        _c("kind", "str", "csat (1-5) or nps (0-10)", S.kind),
        _c("score", "int", "the score", S.score),
        _c("created_at", "datetime", "when the customer answered (UTC)", S.created_at),
    ),
    S.created_at,
    lambda since: S.created_at >= since,
)

DATASETS = {d.name: d for d in (CONVERSATIONS, MESSAGES, EVENTS, CALLS, SURVEYS)}


@dataclass(frozen=True, slots=True)
class Window:
    after_id: int = 0
    start: datetime | None = None  # created at or after
    end: datetime | None = None  # created before
    updated_since: datetime | None = None


async def page(
    session: AsyncSession, d: Dataset, workspace_id: int, w: Window, limit: int
) -> list[dict[str, Any]]:
    """Up to ``limit`` rows of the workspace with an id above ``w.after_id``, by id."""
    stmt = d.joins(select(*(c.expr.label(c.name) for c in d.columns)).select_from(d.table))
    stmt = stmt.where(d.table.workspace_id == workspace_id, d.table.id > w.after_id)
    if w.start is not None:
        stmt = stmt.where(d.created >= w.start)
    if w.end is not None:
        stmt = stmt.where(d.created < w.end)
    if w.updated_since is not None:
        stmt = stmt.where(d.changed(w.updated_since))
    rows = await session.execute(stmt.order_by(d.table.id).limit(limit))
    return [dict(r._mapping) for r in rows]
