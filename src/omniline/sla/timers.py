"""Per-conversation SLA clocks: opening, closing, and firing warnings and breaches.

Each open timer has durable ``sla_check`` jobs at its warning and due times. The
job re-reads the timer; warning and breach are marked by a conditional UPDATE
(``... WHERE breached_at IS NULL AND satisfied_at IS NULL ...``) and the actions
run only when that UPDATE changed the row, in the same transaction. So a breach
fires exactly once: a second runner, or a runner restarted after a crash, finds
the row already marked (or, if the first one crashed before committing, nothing
of the first attempt was kept).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.conversations.models import Conversation
from omniline.errors import NotFound
from omniline.jobs import service as jobs
from omniline.kit.clock import iso, utcnow
from omniline.sla import actions, calendars, repository
from omniline.sla.business_time import BusinessHours, add_business_seconds
from omniline.sla.models import SlaPolicy, SlaTimer, Target

log = logging.getLogger(__name__)

JOB_KIND = "sla_check"
COUNTING = ("queued", "assigned", "waiting_customer")


def now() -> datetime:
    """The clock of this module (tests move it forward)."""
    return utcnow()


def target_seconds(policy: SlaPolicy, target: str) -> int | None:
    return {
        Target.first_response.value: policy.first_response_seconds,
        Target.next_response.value: policy.next_response_seconds,
        Target.resolution.value: policy.resolution_seconds,
    }.get(target)


async def _clock(
    session: AsyncSession, queue_id: int | None
) -> tuple[SlaPolicy, BusinessHours] | None:
    if queue_id is None:
        return None
    policy = await repository.active_policy_for_queue(session, queue_id)
    if policy is None:
        return None
    try:
        hours = await calendars.load_hours(session, policy.calendar_id)
    except NotFound:
        return None
    return policy, hours


async def _open(
    session: AsyncSession,
    conv: Conversation,
    clock: tuple[SlaPolicy, BusinessHours],
    target: str,
    started_at: datetime,
) -> SlaTimer | None:
    timer = _timer(conv, clock, target, started_at)
    if timer is not None:
        await _schedule(session, [timer])
    return timer


def _timer(
    conv: Conversation, clock: tuple[SlaPolicy, BusinessHours], target: str, started_at: datetime
) -> SlaTimer | None:
    """A new timer of ``target`` (not yet added), or None when the policy sets none."""
    policy, hours = clock
    seconds = target_seconds(policy, target)
    if not seconds:
        return None
    try:
        due_at = add_business_seconds(hours, started_at, seconds)
        share = policy.warning_share
        warn_at = (
            add_business_seconds(hours, started_at, seconds * share) if 0 < share < 1 else None
        )
    except ValueError:
        log.warning("SLA calendar of policy %s never opens; no %s timer", policy.id, target)
        return None
    return SlaTimer(
        workspace_id=conv.workspace_id,
        conversation_id=conv.id,
        policy_id=policy.id,
        target=target,
        started_at=started_at,
        due_at=due_at,
        warn_at=warn_at,
    )


async def _schedule(session: AsyncSession, timers: list[SlaTimer]) -> None:
    """Store new timers in one flush, then their checks at the warning and due times."""
    session.add_all(timers)
    await session.flush()
    checks: list[tuple[dict[str, Any], datetime, int | None]] = []
    for timer in timers:
        payload = {"timer_id": timer.id}
        if timer.warn_at is not None:
            checks.append((payload, timer.warn_at, timer.workspace_id))
        checks.append((payload, timer.due_at, timer.workspace_id))
    await jobs.enqueue_many(session, JOB_KIND, checks)


async def align(
    session: AsyncSession, conv: Conversation, *, restart_resolution: bool = False
) -> None:
    """Make the open timers match the conversation's queue policy and state.

    Moving to a queue with another policy re-times the running clocks under the new
    policy from the moment each started (the customer has been waiting since then);
    a queue without a policy stops them.
    """
    await align_many(session, [conv], restart_resolution=restart_resolution)


async def align_many(
    session: AsyncSession, convs: list[Conversation], *, restart_resolution: bool = False
) -> None:
    """:func:`align` for several conversations: one read of their timers, one flush of the
    new ones, one write of their due rows and one read of their list summaries."""
    # A bot holds it, or it is resolved: nothing starts or moves. Each conversation once.
    convs = list({c.id: c for c in convs if c.status in COUNTING}.values())
    if not convs:
        return
    at = now()
    current = await repository.open_timers_of(session, [c.id for c in convs])
    opened: list[SlaTimer] = []
    changed: dict[int, list[SlaTimer]] = {}  # conversation id: its open timers after
    for conv in convs:
        clock = await _clock(session, conv.queue_id)
        started: dict[str, datetime] = {}
        kept: set[str] = set()
        still_open: list[SlaTimer] = []
        for timer in current.get(conv.id, []):
            if clock is not None and timer.policy_id == clock[0].id:
                kept.add(timer.target)
                still_open.append(timer)
                continue
            timer.cancelled_at = at
            started[timer.target] = timer.started_at
            changed[conv.id] = still_open
        if clock is None:
            continue
        wanted = {Target.resolution.value: at if restart_resolution else conv.created_at}
        if conv.first_agent_reply_at is None:
            wanted[Target.first_response.value] = conv.created_at
        if Target.next_response.value in started:
            wanted[Target.next_response.value] = started[Target.next_response.value]
        new = [
            fresh
            for target, default_start in wanted.items()
            if target not in kept
            and (fresh := _timer(conv, clock, target, started.get(target, default_start)))
        ]
        if new:
            opened += new
            still_open += new
            changed[conv.id] = still_open
    if opened:
        await _schedule(session, opened)
    if changed:
        await sync_many(session, [(c, changed[c.id]) for c in convs if c.id in changed])


async def on_agent_reply(session: AsyncSession, conv: Conversation) -> None:
    at = now()
    changed = False
    for timer in await repository.open_timers(session, conv.id):
        if timer.target in (Target.first_response.value, Target.next_response.value):
            timer.satisfied_at = at
            changed = True
    if changed:
        await sync(session, conv)


async def on_customer_message(session: AsyncSession, conv: Conversation) -> None:
    """A customer writing after an agent's reply starts the next-response clock."""
    if conv.first_agent_reply_at is None or conv.status not in COUNTING:
        return
    open_timers = await repository.open_timers(session, conv.id)
    if any(t.target == Target.next_response.value for t in open_timers):
        return
    clock = await _clock(session, conv.queue_id)
    if clock is None:
        return
    if await _open(session, conv, clock, Target.next_response.value, now()) is not None:
        await sync(session, conv)


async def on_resolved(session: AsyncSession, conv: Conversation) -> None:
    at = now()
    changed = False
    for timer in await repository.open_timers(session, conv.id):
        if timer.target == Target.resolution.value:
            timer.satisfied_at = at
        else:
            timer.cancelled_at = at
        changed = True
    if changed:
        await sync(session, conv)


def due_view(values: dict[str, Any] | None) -> dict[str, Any] | None:
    if values is None:
        return None
    return {
        "target": values["target"],
        "due_at": iso(values["due_at"]),
        "warn_at": iso(values["warn_at"]),
        "warned": values["warned"],
        "breached": values["breached"],
    }


async def sync(
    session: AsyncSession, conv: Conversation, open_timers: list[SlaTimer] | None = None
) -> None:
    """Refresh the conversation's "due first" row and tell the lists.

    ``open_timers``: the conversation's open timers when the caller has just read and
    changed them all (:func:`align`), so they are not read again.
    """
    if open_timers is None:
        await session.flush()
        open_timers = await repository.open_timers(session, conv.id)
    await sync_many(session, [(conv, open_timers)])


async def sync_many(
    session: AsyncSession, convs: list[tuple[Conversation, list[SlaTimer]]]
) -> None:
    """:func:`sync` of several conversations, each with its open timers."""
    await session.flush()
    dues: list[tuple[int, dict[str, Any] | None]] = []
    for conv, open_timers in convs:
        values: dict[str, Any] | None = None
        if open_timers:
            # A breached clock stays first: it is the one the supervisor must see.
            first = min(open_timers, key=lambda t: (t.breached_at is None, t.due_at, t.id))
            values = {
                "workspace_id": conv.workspace_id,
                "due_at": first.due_at,
                "warn_at": first.warn_at,
                "target": first.target,
                "breached": first.breached_at is not None,
                "warned": first.warned_at is not None,
            }
        dues.append((conv.id, values))
    await repository.put_dues(session, dues)
    await actions.publish_summaries(
        session,
        [(conv, due_view(values)) for (conv, _), (_, values) in zip(convs, dues, strict=True)],
    )


async def check(session: AsyncSession, timer_id: int) -> str | None:
    """Run one ``sla_check``: answers "breached", "warning" or None (nothing to do)."""
    timer = await session.get(SlaTimer, timer_id)
    if timer is None or timer.satisfied_at is not None or timer.cancelled_at is not None:
        return None
    at = now()
    still_open = (
        SlaTimer.id == timer.id,
        SlaTimer.satisfied_at.is_(None),
        SlaTimer.cancelled_at.is_(None),
        SlaTimer.breached_at.is_(None),
    )
    if at >= timer.due_at:
        stmt = update(SlaTimer).where(*still_open).values(breached_at=at)
        kind = "breached"
    elif timer.warn_at is not None and at >= timer.warn_at and timer.warned_at is None:
        stmt = (
            update(SlaTimer).where(*still_open, SlaTimer.warned_at.is_(None)).values(warned_at=at)
        )
        kind = "warning"
    else:
        return None
    result = await session.execute(stmt.execution_options(synchronize_session=False))
    if getattr(result, "rowcount", 0) != 1:
        return None  # another runner marked it first
    await session.refresh(timer)
    conv = await session.get(Conversation, timer.conversation_id)
    policy = await session.get(SlaPolicy, timer.policy_id)
    if conv is None or policy is None:
        return None
    await actions.fire(session, conv, policy, timer, kind)
    await sync(session, conv)
    return kind
