"""Outbound call campaigns: a list of customers, a flow they hear when they answer (or an
agent they are connected to), dialling hours in each customer's time zone, spaced retries.

The service here creates campaigns, fills their lists and reports on them; the dialling
itself is done by the voice inbox's call controller (``dialer.py``), which reads the rows
this module writes. Functions flush and never commit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.auth import access
from omniline.auth.principal import Principal
from omniline.bots.models import BotFlow
from omniline.channels.voice.callbacks import zone_of
from omniline.channels.voice.config import VoiceSettings
from omniline.channels.voice.models import (
    CampaignContactStatus,
    CampaignStatus,
    VoiceCampaign,
    VoiceCampaignContact,
)
from omniline.errors import Conflict, Forbidden, Invalid, NoSuch, NotFound
from omniline.inboxes.models import Inbox
from omniline.kit.clock import iso, utcnow
from omniline.workspaces import repository as workspaces

Status = CampaignContactStatus
OPEN = (Status.pending.value, Status.dialing.value)
# Flow variables that every turn writes; the results keep what the flow collected (not these,
# nor the list's own values, which the flow reads as ``{{campaign.NAME}}``).
NOISE = frozenset({"last_message", "first_message"})


@dataclass(frozen=True, slots=True)
class CampaignSpec:
    inbox_id: int
    name: str
    mode: str = "bot"
    flow_id: int | None = None
    queue_id: int | None = None
    hours: str = "09:00-20:00"
    max_attempts: int = 3
    retry_after_s: int = 3600
    max_concurrent: int = 5


@dataclass(frozen=True, slots=True)
class ListRow:
    """One customer as a list gives them (the number is raw: it is checked on the way in)."""

    number: str
    name: str = ""
    contact_id: int | None = None
    variables: dict[str, Any] = field(default_factory=dict)


def check_may_run_campaigns(p: Principal) -> None:
    if p.role not in access.LEADS:
        raise Forbidden("only supervisors and administrators run call campaigns")


# -- dialling hours -------------------------------------------------------------------------


def parse_hours(text: str) -> tuple[time, time]:
    """``"09:00-20:00"``; an end before the start spans midnight (``"20:00-02:00"``)."""
    try:
        start, end = (time.fromisoformat(part.strip()) for part in text.split("-", 1))
    except ValueError:
        raise Invalid("hours", 'like "09:00-20:00", in the customer\'s time zone') from None
    if start == end:
        raise Invalid("hours", "the window must not be empty")
    return start, end


def _open_at(moment: time, start: time, end: time) -> bool:
    if start < end:
        return start <= moment < end
    return moment >= start or moment < end


def window_opening(at: datetime, zone: str, hours: str) -> datetime:
    """``at`` when it falls in the dialling hours in ``zone``, else when they next open."""
    start, end = parse_hours(hours)
    try:
        tz = ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        tz = ZoneInfo("UTC")
    local = at.astimezone(tz)
    if _open_at(local.time(), start, end):
        return at
    day = local.date() if local.time() < start else local.date() + timedelta(days=1)
    return datetime.combine(day, start, tzinfo=tz).astimezone(at.tzinfo)


# -- campaigns ------------------------------------------------------------------------------


async def get(session: AsyncSession, p: Principal, campaign_id: int) -> VoiceCampaign:
    check_may_run_campaigns(p)
    campaign = await session.get(VoiceCampaign, campaign_id)
    if campaign is None or campaign.workspace_id != p.workspace_id:
        raise NotFound("no such campaign")
    return campaign


async def voice_inbox(session: AsyncSession, workspace_id: int, inbox_id: int) -> Inbox:
    inbox = await session.get(Inbox, inbox_id)
    if inbox is None or inbox.workspace_id != workspace_id or inbox.channel != "voice":
        raise NoSuch("inbox_id", "no such voice inbox in this workspace")
    return inbox


async def _checked(session: AsyncSession, p: Principal, spec: CampaignSpec) -> dict[str, Any]:
    """The campaign's settings as stored, once the inbox, flow, queue and hours are checked."""
    check_may_run_campaigns(p)
    inbox = await voice_inbox(session, p.workspace_id, spec.inbox_id)
    parse_hours(spec.hours)
    if spec.flow_id is not None:
        flow = await session.get(BotFlow, spec.flow_id)
        if flow is None or flow.workspace_id != p.workspace_id:
            raise NoSuch("flow_id", "no such bot flow in this workspace")
        if flow.published_version_id is None:
            raise Conflict(
                "flow_id: publish the flow first: customers hear its live version",
                fields=[{"field": "flow_id", "message": "publish the flow first"}],
            )
    elif spec.mode == "bot":
        raise Invalid("flow_id", "a bot campaign needs a flow to play")
    queue_id = spec.queue_id or inbox.default_queue_id
    if spec.mode == "agent" and queue_id is None:
        # The request may name no queue when the inbox has a default one: what is stored.
        raise Conflict(
            "queue_id: the inbox has no default queue: name the queue whose agents take the calls",
            fields=[{"field": "queue_id", "message": "the inbox has no default queue"}],
        )
    if queue_id is not None and await workspaces.queue(session, p.workspace_id, queue_id) is None:
        raise NoSuch("queue_id", "no such queue in this workspace")
    name = spec.name.strip()[:200]
    if not name:
        raise Invalid("name", "must not be empty")
    return {
        "inbox_id": inbox.id,
        "name": name,
        "flow_id": spec.flow_id,
        "mode": spec.mode,
        "queue_id": queue_id,
        "hours": spec.hours.replace(" ", ""),
        "max_attempts": spec.max_attempts,
        "retry_after_s": spec.retry_after_s,
        "max_concurrent": spec.max_concurrent,
    }


async def do_create(session: AsyncSession, p: Principal, spec: CampaignSpec) -> VoiceCampaign:
    settings = await _checked(session, p, spec)
    campaign = VoiceCampaign(workspace_id=p.workspace_id, created_by=p.user_id, **settings)
    session.add(campaign)
    await session.flush()
    return campaign


async def do_update(
    session: AsyncSession, p: Principal, campaign: VoiceCampaign, spec: CampaignSpec
) -> VoiceCampaign:
    """A draft's settings, replaced whole (as at creation); once started a campaign keeps
    them: 409. The row is locked first, so a Start at the same moment either waits for the
    change or is seen by it."""
    await session.refresh(campaign, with_for_update=True)
    if campaign.status != CampaignStatus.draft.value:
        raise Conflict(f"the campaign is {campaign.status}: only a draft can be changed")
    settings = await _checked(session, p, spec)
    for key, value in settings.items():
        setattr(campaign, key, value)
    await session.flush()
    return campaign


async def do_start(session: AsyncSession, campaign: VoiceCampaign) -> VoiceCampaign:
    if campaign.status == CampaignStatus.done.value:
        raise Conflict("the campaign is over")
    left = await session.scalar(
        select(func.count())
        .select_from(VoiceCampaignContact)
        .where(
            VoiceCampaignContact.campaign_id == campaign.id,
            VoiceCampaignContact.status.in_(OPEN),
        )
    )
    if not left:
        raise Conflict("the campaign has nobody left to call: add contacts first")
    campaign.status = CampaignStatus.running.value
    campaign.started_at = campaign.started_at or utcnow()
    await session.flush()
    return campaign


async def do_pause(session: AsyncSession, campaign: VoiceCampaign) -> VoiceCampaign:
    """No new calls; calls in flight finish."""
    if campaign.status != CampaignStatus.running.value:
        raise Conflict(f"the campaign is {campaign.status}, not running")
    campaign.status = CampaignStatus.paused.value
    await session.flush()
    return campaign


# -- results --------------------------------------------------------------------------------


def attempt_failed(row: VoiceCampaignContact, campaign: VoiceCampaign, result: str) -> None:
    """An attempt that never reached the customer: retried after the spacing, in the window,
    until the campaign's maximum."""
    row.result = result[:32]
    if row.attempts >= campaign.max_attempts:
        row.status = Status.failed.value
        row.finished_at = utcnow()
        return
    row.status = Status.pending.value
    later = utcnow() + timedelta(seconds=campaign.retry_after_s)
    row.next_attempt_at = window_opening(later, row.timezone, campaign.hours)


def finish(row: VoiceCampaignContact, result: str, variables: dict[str, Any]) -> None:
    row.status = Status.done.value
    row.result = result[:32]
    row.variables = {
        k: v for k, v in variables.items() if k not in NOISE and not k.startswith("campaign.")
    }
    row.finished_at = utcnow()


async def progress(session: AsyncSession, ids: list[int]) -> dict[int, dict[str, Any]]:
    """Per campaign: how many contacts stand in each status, and the results so far."""
    out: dict[int, dict[str, Any]] = {
        i: {"total": 0, **{s.value: 0 for s in Status}, "results": {}} for i in ids
    }
    if not ids:
        return out
    rows = await session.execute(
        select(
            VoiceCampaignContact.campaign_id,
            VoiceCampaignContact.status,
            VoiceCampaignContact.result,
            func.count(),
        )
        .where(VoiceCampaignContact.campaign_id.in_(ids))
        .group_by(
            VoiceCampaignContact.campaign_id,
            VoiceCampaignContact.status,
            VoiceCampaignContact.result,
        )
    )
    for campaign_id, status, result, n in rows.all():
        counts = out[campaign_id]
        counts["total"] += n
        counts[status] = counts.get(status, 0) + n
        if result and status in (Status.done.value, Status.failed.value, Status.skipped.value):
            counts["results"][result] = counts["results"].get(result, 0) + n
    return out


def view(campaign: VoiceCampaign, counts: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "id": campaign.id,
        "inbox_id": campaign.inbox_id,
        "name": campaign.name,
        "mode": campaign.mode,
        "flow_id": campaign.flow_id,
        "queue_id": campaign.queue_id,
        "hours": campaign.hours,
        "max_attempts": campaign.max_attempts,
        "retry_after_s": campaign.retry_after_s,
        "max_concurrent": campaign.max_concurrent,
        "status": campaign.status,
        "created_at": iso(campaign.created_at),
        "started_at": iso(campaign.started_at),
        "finished_at": iso(campaign.finished_at),
        "progress": counts or {},
    }


def contact_view(row: VoiceCampaignContact) -> dict[str, Any]:
    return {
        "id": row.id,
        "contact_id": row.contact_id,
        "number": row.number,
        "name": row.name,
        "timezone": row.timezone,
        "status": row.status,
        "attempts": row.attempts,
        "next_attempt_at": iso(row.next_attempt_at) if row.status in OPEN else None,
        "result": row.result,
        "variables": row.variables,
        "data": row.data,
        "last_call_id": row.last_call_id,
        "finished_at": iso(row.finished_at),
    }


def settings_of(inbox: Inbox) -> VoiceSettings:
    return VoiceSettings.of(inbox.settings)


def zone_for(number: str, contact_zone: str | None, settings: VoiceSettings) -> str:
    """The customer's zone from their number; a number of a country with several zones takes
    the contact's own zone, else the line's."""
    return zone_of(number, contact_zone or settings.callback_timezone)
