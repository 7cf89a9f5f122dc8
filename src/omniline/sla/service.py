"""SLA administration (calendars and policies) and each conversation's SLA status.

``check_*`` validate and authorise; ``do_*`` change state. Nothing commits here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.auth import access
from omniline.auth.principal import Principal
from omniline.conversations.models import Conversation
from omniline.errors import Conflict, Invalid, NoSuch, NotFound, Taken
from omniline.kit.clock import iso, utcnow
from omniline.sla import business_time, calendars, repository, timers
from omniline.sla.actions import ACTIONS
from omniline.sla.business_time import CalendarError
from omniline.sla.models import BusinessCalendar, SlaDue, SlaPolicy, SlaTimer
from omniline.sla.schemas import MAX_TARGET, TARGET_FIELDS, CalendarIn, PolicyIn

# ---- calendars ----


def check_calendar(body: CalendarIn) -> business_time.BusinessHours:
    name = body.name.strip()
    if not name:
        raise Invalid("name", "must not be empty")
    try:
        return business_time.parse(body.timezone, body.hours, body.holidays)
    except CalendarError as exc:
        raise Invalid(exc.field, exc.message) from None


def _normalised(body: CalendarIn) -> dict[str, Any]:
    """Store what was validated, in one canonical shape (sorted, HH:MM)."""
    hours = check_calendar(body)
    fmt = business_time.format_minutes
    week = {
        day: [{"start": fmt(s), "end": fmt(e)} for s, e in hours.week[i]]
        for i, day in enumerate(business_time.WEEKDAYS)
    }
    names = {str(h.get("date")): str(h.get("name") or "")[:200] for h in body.holidays}
    holidays = [
        {
            "date": day.isoformat(),
            "name": names.get(day.isoformat(), ""),
            "hours": [{"start": fmt(s), "end": fmt(e)} for s, e in spans],
        }
        for day, spans in sorted(hours.holidays.items())
    ]
    return {
        "name": body.name.strip(),
        "timezone": body.timezone.strip(),
        "hours": week,
        "holidays": holidays,
    }


async def _unique_calendar_name(
    session: AsyncSession, workspace_id: int, name: str, own_id: int | None
) -> None:
    other = await repository.calendar_by_name(session, workspace_id, name)
    if other is not None and other.id != own_id:
        raise Taken("name", "another calendar has this name")


async def do_create_calendar(
    session: AsyncSession, p: Principal, body: CalendarIn
) -> BusinessCalendar:
    access.check_admin(p)
    values = _normalised(body)
    await _unique_calendar_name(session, p.workspace_id, values["name"], None)
    cal = BusinessCalendar(workspace_id=p.workspace_id, **values)
    session.add(cal)
    await session.flush()
    return cal


async def do_update_calendar(
    session: AsyncSession, p: Principal, calendar_id: int, body: CalendarIn
) -> BusinessCalendar:
    """Running timers keep their due times; new clocks use the changed hours."""
    access.check_admin(p)
    cal = await calendars.get_calendar(session, calendar_id, p.workspace_id)
    values = _normalised(body)
    await _unique_calendar_name(session, p.workspace_id, values["name"], cal.id)
    for key, value in values.items():
        setattr(cal, key, value)
    cal.updated_at = utcnow()
    await session.flush()
    return cal


async def do_delete_calendar(session: AsyncSession, p: Principal, calendar_id: int) -> None:
    access.check_admin(p)
    cal = await calendars.get_calendar(session, calendar_id, p.workspace_id)
    users = await repository.policies_using_calendar(session, cal.id)
    if users:
        names = ", ".join(sorted(pol.name for pol in users))
        raise Conflict(f"the calendar is used by SLA policies: {names}")
    try:
        async with session.begin_nested():
            await session.delete(cal)
            await session.flush()
    except IntegrityError:
        raise Conflict("the calendar is still in use (e.g. by a routing rule)") from None


def calendar_view(cal: BusinessCalendar) -> dict[str, Any]:
    return {
        "id": cal.id,
        "name": cal.name,
        "timezone": cal.timezone,
        "hours": cal.hours,
        "holidays": cal.holidays,
        "updated_at": iso(cal.updated_at),
    }


# ---- policies ----


async def check_policy(
    session: AsyncSession, p: Principal, body: PolicyIn, own_id: int | None = None
) -> dict[str, Any]:
    access.check_admin(p)
    name = body.name.strip()
    if not name:
        raise Invalid("name", "must not be empty")
    other = await repository.policy_by_name(session, p.workspace_id, name)
    if other is not None and other.id != own_id:
        raise Taken("name", "another SLA policy has this name")
    if await repository.queue(session, p.workspace_id, body.queue_id) is None:
        raise NoSuch("queue_id", "no such queue in this workspace")
    if body.calendar_id is not None:
        try:
            cal = await calendars.get_calendar(session, body.calendar_id, p.workspace_id)
            calendars.hours_of(cal)
        except NotFound:
            raise NoSuch("calendar_id", "no such calendar in this workspace") from None
        except CalendarError as exc:
            raise Invalid("calendar_id", f"the calendar cannot work ({exc})") from None
    targets = {f: getattr(body, f) for f in TARGET_FIELDS}
    for field, value in targets.items():
        if value is not None and value <= 0:
            raise Invalid(field, "must be greater than zero (leave it empty for no target)")
        if value is not None and value > MAX_TARGET:
            raise Invalid(field, "must be at most one year")
    if all(v is None for v in targets.values()):
        raise Invalid("first_response_seconds", "set at least one target")
    if not 0 < body.warning_share < 1:
        raise Invalid("warning_share", "must be between 0 and 1, e.g. 0.8")
    for field in ("warning_actions", "breach_actions"):
        unknown = sorted(set(getattr(body, field)) - set(ACTIONS))
        if unknown:
            raise Invalid(field, f"unknown action {unknown[0]!r} (use {', '.join(ACTIONS)})")
    if body.active:
        current = await repository.active_policy_for_queue(session, body.queue_id)
        if current is not None and current.id != own_id:
            raise Taken("queue_id", f"the queue already has an active SLA policy {current.name!r}")
    return {
        "name": name,
        "queue_id": body.queue_id,
        "calendar_id": body.calendar_id,
        "active": body.active,
        **targets,
        "warning_share": body.warning_share,
        "warning_actions": [a for a in ACTIONS if a in body.warning_actions],
        "breach_actions": [a for a in ACTIONS if a in body.breach_actions],
        "warning_tag": (body.warning_tag or "").strip().lower() or None,
        "breach_tag": (body.breach_tag or "").strip().lower() or None,
    }


async def do_create_policy(session: AsyncSession, p: Principal, body: PolicyIn) -> SlaPolicy:
    values = await check_policy(session, p, body)
    policy = SlaPolicy(workspace_id=p.workspace_id, **values)
    session.add(policy)
    repository.forget_policies(session)
    await session.flush()
    return policy


async def _get_policy(session: AsyncSession, p: Principal, policy_id: int) -> SlaPolicy:
    access.check_admin(p)
    policy = await repository.policy(session, p.workspace_id, policy_id)
    if policy is None:
        raise NotFound("no such SLA policy")
    return policy


async def do_update_policy(
    session: AsyncSession, p: Principal, policy_id: int, body: PolicyIn
) -> SlaPolicy:
    """Running timers keep their due times, unless the policy stops applying to them."""
    policy = await _get_policy(session, p, policy_id)
    values = await check_policy(session, p, body, own_id=policy.id)
    moved = values["queue_id"] != policy.queue_id or not values["active"]
    for key, value in values.items():
        setattr(policy, key, value)
    policy.updated_at = utcnow()
    repository.forget_policies(session)
    await session.flush()
    if moved:
        await _stop_timers(session, policy.id)
    return policy


async def do_delete_policy(session: AsyncSession, p: Principal, policy_id: int) -> None:
    policy = await _get_policy(session, p, policy_id)
    await _stop_timers(session, policy.id)
    await session.delete(policy)
    repository.forget_policies(session)
    await session.flush()


async def _stop_timers(session: AsyncSession, policy_id: int) -> None:
    open_timers = await session.scalars(
        select(SlaTimer).where(
            SlaTimer.policy_id == policy_id,
            SlaTimer.satisfied_at.is_(None),
            SlaTimer.cancelled_at.is_(None),
        )
    )
    now = utcnow()
    conv_ids: set[int] = set()
    for timer in open_timers:
        timer.cancelled_at = now
        conv_ids.add(timer.conversation_id)
    for conv_id in sorted(conv_ids):
        conv = await session.get(Conversation, conv_id)
        if conv is not None:
            await timers.sync(session, conv)


def policy_view(policy: SlaPolicy) -> dict[str, Any]:
    return {
        "id": policy.id,
        "name": policy.name,
        "queue_id": policy.queue_id,
        "calendar_id": policy.calendar_id,
        "active": policy.active,
        "first_response_seconds": policy.first_response_seconds,
        "next_response_seconds": policy.next_response_seconds,
        "resolution_seconds": policy.resolution_seconds,
        "warning_share": policy.warning_share,
        "warning_actions": list(policy.warning_actions),
        "breach_actions": list(policy.breach_actions),
        "warning_tag": policy.warning_tag,
        "breach_tag": policy.breach_tag,
        "updated_at": iso(policy.updated_at),
    }


# ---- conversation status ----


def timer_view(timer: SlaTimer) -> dict[str, Any]:
    return {
        "target": timer.target,
        "started_at": iso(timer.started_at),
        "due_at": iso(timer.due_at),
        "warn_at": iso(timer.warn_at),
        "warned_at": iso(timer.warned_at),
        "breached_at": iso(timer.breached_at),
        "satisfied_at": iso(timer.satisfied_at),
        "cancelled_at": iso(timer.cancelled_at),
        "open": timer.satisfied_at is None and timer.cancelled_at is None,
    }


async def status_of(session: AsyncSession, conv: Conversation) -> dict[str, Any] | None:
    """The conversation's SLA: the clock due first, and every timer it had (None: no SLA)."""
    all_timers = await repository.timers_of(session, conv.id)
    if not all_timers:
        return None
    dues = await repository.dues(session, [conv.id])
    due = dues.get(conv.id)
    out: dict[str, Any] = {
        "target": None,
        "due_at": None,
        "warn_at": None,
        "warned": False,
        "breached": False,
    }
    if due is not None:
        out.update(
            target=due.target,
            due_at=iso(due.due_at),
            warn_at=iso(due.warn_at),
            warned=due.warned,
            breached=due.breached,
        )
    out["timers"] = [timer_view(t) for t in all_timers]
    return out


def due_view(due: SlaDue | None) -> dict[str, Any] | None:
    """A list row's countdown: {target, due_at, warn_at, warned, breached}, or None."""
    if due is None:
        return None
    return {
        "target": due.target,
        "due_at": iso(due.due_at),
        "warn_at": iso(due.warn_at),
        "warned": due.warned,
        "breached": due.breached,
    }


async def due_for(session: AsyncSession, conv_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """Countdowns of several conversations, by conversation id (those with an SLA clock)."""
    dues = await repository.dues(session, conv_ids)
    return {cid: view for cid, d in dues.items() if (view := due_view(d)) is not None}
