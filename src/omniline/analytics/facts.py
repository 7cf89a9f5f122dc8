"""Computing a conversation's fact row from the event log (docs/metrics.md).

``refresh`` reads the conversations, their messages, transfers, calls, survey answers and
SLA timers in one query per table for a batch of ids, deletes their old facts and inserts
the new ones: a conversation resolved days later is recomputed whole, so every figure moves
to the period its own timestamp says and nothing is counted twice.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.analytics import agent_days, rollups
from omniline.analytics.models import Fact
from omniline.analytics.periods import bucket_of
from omniline.channels.voice.models import EndReason, VoiceCall, VoiceQueue
from omniline.contacts.models import Contact
from omniline.conversations.models import (
    OPEN_STATUSES,
    AuthorType,
    Conversation,
    ConversationEvent,
    Direction,
    Message,
)
from omniline.sla import business_time
from omniline.sla.business_time import BusinessHours
from omniline.sla.calendars import hours_of
from omniline.sla.models import BusinessCalendar, SlaPolicy, SlaTimer
from omniline.surveys.models import SurveyAnswer
from omniline.workspaces.models import Queue

SHORT_ABANDON_S = 5.0  # as omniline.acd.metrics
SERVICE_LEVEL_S = 20  # when the queue sets no target of its own
BATCH = 500
_OPEN = frozenset(s.value for s in OPEN_STATUSES)


def _s(a: datetime | None, b: datetime | None) -> float | None:
    return None if a is None or b is None else max(0.0, (b - a).total_seconds())


async def refresh(session: AsyncSession, workspace_id: int, ids: Iterable[int]) -> None:
    """Recompute the facts of these conversations of the workspace (flushes, never commits)."""
    todo = sorted(set(ids))
    for i in range(0, len(todo), BATCH):
        await _refresh_batch(session, workspace_id, todo[i : i + BATCH])


async def _refresh_batch(session: AsyncSession, workspace_id: int, ids: list[int]) -> None:
    await session.flush()
    mine = (Fact.workspace_id == workspace_id, Fact.conversation_id.in_(ids))
    old = (await session.execute(select(*Fact.__table__.c).where(*mine))).mappings().all()
    await session.execute(delete(Fact).where(*mine))
    rows = (
        await session.execute(
            select(Conversation, Contact.country, Contact.language, Queue.team_id)
            .join(Contact, Contact.id == Conversation.contact_id)
            .outerjoin(Queue, Queue.id == Conversation.queue_id)
            .where(Conversation.workspace_id == workspace_id, Conversation.id.in_(ids))
        )
    ).all()
    values: list[dict[str, Any]] = []
    if rows:
        ctx = await _Context.load(session, workspace_id, ids, [r[0] for r in rows])
        values = [ctx.fact(conv, country, lang, team) for conv, country, lang, team in rows]
        await session.execute(insert(Fact), values)
    await rollups.apply(session, workspace_id, rollups.delta(old, values))
    await agent_days.apply(session, workspace_id, old, values)


class _Context:
    """Everything of a batch that is not on the conversation row, keyed by conversation."""

    messages: dict[int, list[tuple[str, str, datetime]]]
    transfers: dict[int, int]
    calls: dict[int, VoiceCall]
    surveys: dict[tuple[int, str], tuple[int, datetime]]
    sla: dict[int, tuple[int, int]]
    first_of_contact: dict[int, int]
    targets: dict[int, int]
    hours: dict[int, BusinessHours]

    @classmethod
    async def load(
        cls, session: AsyncSession, ws: int, ids: list[int], convs: list[Conversation]
    ) -> _Context:
        self = cls()
        self.messages = defaultdict(list)
        stmt = (
            select(Message.conversation_id, Message.direction, Message.author_type)
            .add_columns(Message.created_at)
            .where(Message.conversation_id.in_(ids), Message.private.is_(False))
            .order_by(Message.conversation_id, Message.created_at, Message.id)
        )
        for cid, direction, author, at in (await session.execute(stmt)).all():
            self.messages[cid].append((direction, author, at))
        stmt2 = (
            select(ConversationEvent.conversation_id, func.count())
            .where(
                ConversationEvent.conversation_id.in_(ids),
                ConversationEvent.type == "transferred",
            )
            .group_by(ConversationEvent.conversation_id)
        )
        self.transfers = {cid: int(n) for cid, n in (await session.execute(stmt2)).all()}
        calls = await session.scalars(
            select(VoiceCall)
            .where(VoiceCall.conversation_id.in_(ids), VoiceCall.direction == "in")
            .order_by(VoiceCall.id)
        )
        self.calls = {c.conversation_id: c for c in calls}
        answers = await session.execute(
            select(
                SurveyAnswer.conversation_id,
                SurveyAnswer.kind,
                SurveyAnswer.score,
                SurveyAnswer.created_at,
            ).where(SurveyAnswer.conversation_id.in_(ids))
        )
        self.surveys = {(cid, kind): (score, at) for cid, kind, score, at in answers.all()}
        timers = await session.execute(
            select(SlaTimer.conversation_id, SlaTimer.breached_at, SlaTimer.satisfied_at).where(
                SlaTimer.conversation_id.in_(ids)
            )
        )
        sla: dict[int, list[int]] = defaultdict(lambda: [0, 0])
        for cid, breached, satisfied in timers.all():
            if breached is not None or satisfied is not None:
                sla[cid][0] += 1
                sla[cid][1] += breached is None
        self.sla = {cid: (n, met) for cid, (n, met) in sla.items()}
        contacts = sorted({c.contact_id for c in convs})
        firsts = await session.execute(
            select(Conversation.contact_id, func.min(Conversation.id))
            .where(Conversation.contact_id.in_(contacts))
            .group_by(Conversation.contact_id)
        )
        self.first_of_contact = {k: int(v) for k, v in firsts.all()}
        targets = await session.execute(
            select(VoiceQueue.queue_id, VoiceQueue.service_level_s).where(
                VoiceQueue.workspace_id == ws
            )
        )
        self.targets = {q: int(t) for q, t in targets.all()}
        policies = await session.execute(
            select(SlaPolicy.queue_id, BusinessCalendar)
            .join(BusinessCalendar, BusinessCalendar.id == SlaPolicy.calendar_id)
            .where(SlaPolicy.workspace_id == ws, SlaPolicy.active.is_(True))
            .order_by(SlaPolicy.id)
        )
        self.hours = {}
        for queue_id, cal in policies.all():
            self.hours.setdefault(queue_id, hours_of(cal))
        return self

    def fact(
        self, conv: Conversation, country: str | None, lang: str | None, team: int | None
    ) -> dict[str, Any]:
        msgs = self.messages.get(conv.id, [])
        closed = conv.status not in _OPEN
        end = conv.resolved_at if closed and conv.resolved_at else conv.last_activity_at
        f: dict[str, Any] = {
            "conversation_id": conv.id,
            "workspace_id": conv.workspace_id,
            "channel": conv.channel,
            "inbox_id": conv.inbox_id,
            "queue_id": conv.queue_id,
            "team_id": team,
            "agent_id": conv.assignee_id,
            "country": country,
            "language": conv.language or lang,
            "arrived_q": bucket_of(conv.created_at),
            "resolved_q": None,
            "resolved": 0,
            "resolution_s": None,
            "unresolved": int(not closed),
            "unfinished": int(not closed and bool(msgs) and msgs[-1][0] == Direction.inbound),
            "messages": len(msgs),
            "duration_s": _s(conv.created_at, end) or 0.0,
            "new_contact": int(self.first_of_contact.get(conv.contact_id) == conv.id),
            "transfers": self.transfers.get(conv.id, 0),
            "transferred": int(conv.id in self.transfers),
            "frt_s": _s(conv.created_at, conv.first_agent_reply_at),
            "frt_business_s": None,
            **_response_times(msgs),
            **self._surveys(conv.id),
        }
        if closed and conv.resolved_at is not None:
            f["resolved_q"] = bucket_of(conv.resolved_at)
            f["resolved"] = 1
            f["resolution_s"] = _s(conv.created_at, conv.resolved_at)
        if f["frt_s"] is not None:
            cal = self.hours.get(conv.queue_id or 0) or business_time.always_open()
            assert conv.first_agent_reply_at is not None
            seconds = business_time.business_seconds_between(
                cal, conv.created_at, conv.first_agent_reply_at
            )
            f["frt_business_s"] = round(seconds, 3)
        bot = any(author == AuthorType.bot for _, author, _ in msgs)
        human = conv.first_queued_at is not None or conv.first_assigned_at is not None
        f["bot_handled"] = int(bot)
        f["bot_contained"] = int(bot and not human and closed)
        f["sla_n"], f["sla_met"] = self.sla.get(conv.id, (0, 0))
        target = self.targets.get(conv.queue_id or 0, SERVICE_LEVEL_S)
        call = self.calls.get(conv.id)
        queue = _call_outcome(call, target) if call else _chat_outcome(conv, closed, target)
        f.update(queue)
        if call is not None:
            f["agent_id"] = call.agent_id or conv.assignee_id
            if call.queued_at is not None:
                # A call belongs to the period it entered the queue (docs/metrics.md, Voice).
                f["arrived_q"] = bucket_of(call.queued_at)
        return f

    def _surveys(self, cid: int) -> dict[str, Any]:
        csat = self.surveys.get((cid, "csat"))
        nps = self.surveys.get((cid, "nps"))
        return {
            "csat": csat[0] if csat else None,
            "csat_q": bucket_of(csat[1]) if csat else None,
            "nps": nps[0] if nps else None,
            "nps_q": bucket_of(nps[1]) if nps else None,
        }


def _response_times(msgs: list[tuple[str, str, datetime]]) -> dict[str, Any]:
    """Each agent reply answers the customer's oldest message since the previous reply."""
    total, n = 0.0, 0
    waiting: datetime | None = None
    for direction, author, at in msgs:
        if direction == Direction.inbound:
            waiting = waiting or at
        elif author == AuthorType.agent and waiting is not None:
            total += max(0.0, (at - waiting).total_seconds())
            n += 1
            waiting = None
    return {"art_sum_s": round(total, 3), "art_n": n}


def _queue(offered: int, answered: int, abandoned: int, short: int, in_sl: int) -> dict[str, Any]:
    return {
        "offered": offered,
        "answered": answered,
        "abandoned": abandoned,
        "short_abandoned": short,
        "answered_in_sl": in_sl,
        "wait_s": None,
        "handle_s": None,
    }


def _call_outcome(call: VoiceCall, target: int) -> dict[str, Any]:
    """As channels/voice/stats.py: offered = answered or abandoned after entering the queue."""
    out = _queue(0, 0, 0, 0, 0)
    if call.queued_at is None:
        return out
    if call.answered_at is not None:
        wait = _s(call.queued_at, call.answered_at) or 0.0
        out.update(offered=1, answered=1, answered_in_sl=int(wait <= target), wait_s=wait)
        end = call.ended_at
        if end is not None:
            # Talk + hold + after-call work: from answer to the end of wrap-up.
            if call.acw_until is not None and call.acw_until > end:
                end = call.acw_until
            out["handle_s"] = _s(call.answered_at, end)
    elif call.end_reason == EndReason.abandoned and call.ended_at is not None:
        wait = _s(call.queued_at, call.ended_at) or 0.0
        out.update(offered=1, abandoned=1, short_abandoned=int(wait < SHORT_ABANDON_S))
    return out


def _chat_outcome(conv: Conversation, closed: bool, target: int) -> dict[str, Any]:
    """A written conversation is offered once it reaches a person (a queue or an agent)."""
    out = _queue(0, 0, 0, 0, 0)
    entered = conv.first_queued_at or conv.first_assigned_at
    if entered is None:
        return out
    if conv.first_assigned_at is not None:
        wait = _s(entered, conv.first_assigned_at) or 0.0
        out.update(offered=1, answered=1, answered_in_sl=int(wait <= target), wait_s=wait)
        if closed and conv.resolved_at is not None:
            out["handle_s"] = _s(conv.first_assigned_at, conv.resolved_at)
    elif closed:
        wait = _s(entered, conv.resolved_at or conv.last_activity_at) or 0.0
        out.update(offered=1, abandoned=1, short_abandoned=int(wait < SHORT_ABANDON_S))
    return out
