"""The campaigns' dialler inside a voice inbox's call controller.

Once a second the controller asks :func:`tick` to dial the due customers of its running
campaigns, within their dialling hours and the campaign's pace: in ``bot`` mode up to
``max_concurrent`` calls in flight, in ``agent`` mode (progressive) no more customers
ringing or waiting than the campaign queue's free agents. A customer who answers becomes
an outbound call like any other (a conversation and a ``voice_calls`` row, direction
``out``) held in the phone menu with the campaign's flow, so digits, prompts, handoffs and
hang-ups go through the controller's usual paths; the hooks below then write the result.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.bots.models import BotFlow
from omniline.channels.voice import calls, campaigns, ivr
from omniline.channels.voice.contract import RingSpec
from omniline.channels.voice.core import CampaignLeg, Leg, Live
from omniline.channels.voice.models import (
    CallState,
    CampaignContactStatus,
    CampaignStatus,
    VoiceCall,
    VoiceCampaign,
    VoiceCampaignContact,
)
from omniline.inboxes.models import Inbox
from omniline.kit.clock import utcnow

if TYPE_CHECKING:
    from omniline.channels.voice.answering import Answering as Controller

SCAN_S = 1.0
CUSTOMER_RING_S = 30.0
HIGH_PRIORITY = 10  # an agent campaign's customer is answered ahead of the inbound line
NOT_WITH_AGENT = (CallState.ivr.value, CallState.queued.value, CallState.ringing.value)
Row = VoiceCampaignContact


async def tick(ctrl: Controller, session: AsyncSession) -> None:
    """Dial what is due (at most once per ``SCAN_S``; never while the PBX is away)."""
    now = ctrl.clock()
    if now < ctrl.next_campaign_scan or not ctrl.link_up:
        return
    ctrl.next_campaign_scan = now + SCAN_S
    running = list(
        await session.scalars(
            select(VoiceCampaign)
            .where(
                VoiceCampaign.inbox_id == ctrl.inbox_id,
                VoiceCampaign.status == CampaignStatus.running.value,
            )
            .order_by(VoiceCampaign.id)
        )
    )
    if not running:
        return
    counts = await _open_counts(session, [c.id for c in running])
    for campaign in running:
        dialing, pending = counts.get(campaign.id, (0, 0))
        if dialing + pending == 0:
            campaign.status = CampaignStatus.done.value
            campaign.finished_at = utcnow()
            continue
        slots = _slots(ctrl, campaign, dialing, now)
        if slots > 0 and pending:
            await _dial_due(ctrl, session, campaign, slots)


async def _open_counts(session: AsyncSession, ids: list[int]) -> dict[int, tuple[int, int]]:
    """Per campaign: (customers being dialled, customers waiting for an attempt)."""
    rows = await session.execute(
        select(Row.campaign_id, Row.status, func.count())
        .where(Row.campaign_id.in_(ids), Row.status.in_(campaigns.OPEN))
        .group_by(Row.campaign_id, Row.status)
    )
    out: dict[int, tuple[int, int]] = {}
    for campaign_id, status, n in rows.all():
        dialing, pending = out.get(campaign_id, (0, 0))
        if status == CampaignContactStatus.dialing.value:
            dialing = n
        else:
            pending = n
        out[campaign_id] = (dialing, pending)
    return out


def _slots(ctrl: Controller, campaign: VoiceCampaign, dialing: int, now: float) -> int:
    """How many more customers may be dialled now."""
    if campaign.mode != "agent":
        return campaign.max_concurrent - dialing
    free = sum(1 for a in ctrl.agents.values() if campaign.queue_id in a.queue_ids and a.free(now))
    # Customers ringing, in the flow or waiting in line will each take one of those agents.
    coming = sum(
        1
        for ref, leg in ctrl.campaign_legs.items()
        if leg.mode == "agent"
        and leg.queue_id == campaign.queue_id
        and (ref not in ctrl.calls or ctrl.calls[ref].state in NOT_WITH_AGENT)
    )
    return free - coming


async def _dial_due(
    ctrl: Controller, session: AsyncSession, campaign: VoiceCampaign, slots: int
) -> None:
    now = utcnow()
    due = await session.scalars(
        select(Row)
        .where(
            Row.campaign_id == campaign.id,
            Row.status == CampaignContactStatus.pending.value,
            Row.next_attempt_at <= now,
        )
        .order_by(Row.next_attempt_at, Row.id)
        .limit(slots + 100)
    )
    for row in due:
        if slots <= 0:
            return
        opening = campaigns.window_opening(now, row.timezone, campaign.hours)
        if opening > now:
            row.next_attempt_at = opening  # outside the customer's hours: wait for them
            continue
        _dial(ctrl, campaign, row)
        slots -= 1


def _dial(ctrl: Controller, campaign: VoiceCampaign, row: Row) -> None:
    leg_id = f"o{uuid.uuid4().hex[:20]}"
    row.status = CampaignContactStatus.dialing.value
    row.attempts += 1
    ctrl.legs[leg_id] = Leg(leg_id, "campaign")
    ctrl.campaign_legs[leg_id] = CampaignLeg(campaign.id, row.id, campaign.mode, campaign.queue_id)
    spec = RingSpec(
        leg=leg_id,
        number=row.number,
        caller_id=ctrl.settings.caller_id,
        timeout_s=CUSTOMER_RING_S,
    )
    ctrl._cmd(leg_id, partial(ctrl.pbx.ring, spec), ctrl._ring_failed(leg_id))


# -- hooks of the controller --------------------------------------------------------------


async def answered(ctrl: Controller, session: AsyncSession, leg_id: str, at: datetime) -> None:
    """The customer picked up: open the call's records and play the flow (or queue them)."""
    leg = ctrl.campaign_legs[leg_id]
    ctrl.legs.pop(leg_id, None)
    row = await session.get(Row, leg.row_id)
    campaign = await session.get(VoiceCampaign, leg.campaign_id)
    inbox = await session.get(Inbox, ctrl.inbox_id)
    if row is None or campaign is None or inbox is None:
        ctrl.campaign_legs.pop(leg_id, None)
        ctrl._cmd(leg_id, lambda: ctrl.pbx.hangup(leg_id))
        return
    call, conv, _contact = await calls.open_call(
        session,
        inbox,
        ref=leg_id,
        caller=row.number,
        dialled=ctrl.settings.caller_id,
        name=row.name,
        at=at,
        direction="out",
    )
    conv.queue_id = campaign.queue_id or conv.queue_id
    row.last_call_id = call.id
    data = {"campaign_id": campaign.id, "campaign": campaign.name, "attempt": row.attempts}
    calls.add_event(session, conv, "campaign_call", data, at)
    live = _live(ctrl, leg_id, call, conv.queue_id, row.number)
    if campaign.mode == "agent":
        live.priority = call.priority = conv.priority = HIGH_PRIORITY
    version_id = await _published(session, campaign.flow_id)
    if version_id is None:
        ctrl._say(live, [], then="music")
        await ctrl._to_queue(session, live, call, conv, conv.queue_id, at)
        return
    given = {f"campaign.{k}": v for k, v in row.data.items()}
    call.ivr = {"version_id": version_id, "state": {"variables": given}}
    step = await ivr.turn(
        session, inbox, call, conv, None, operator_digit=ctrl.settings.operator_digit
    )
    await ctrl._apply_step(session, live, call, conv, step)


def _live(ctrl: Controller, ref: str, call: VoiceCall, queue_id: int | None, number: str) -> Live:
    live = Live(
        ref=ref,
        call_id=call.id,
        conv_id=call.conversation_id,
        contact_id=call.contact_id,
        caller=number,
        state=CallState.ivr.value,
        language=call.language or ctrl.settings.language,
        queue_id=queue_id,
        priority=call.priority,
        direction="out",
    )
    ctrl.calls[ref] = live
    ctrl.by_call_id[call.id] = ref
    return live


async def _published(session: AsyncSession, flow_id: int | None) -> int | None:
    if flow_id is None:
        return None
    flow = await session.get(BotFlow, flow_id)
    return flow.published_version_id if flow is not None else None


def stepped(ctrl: Controller, live: Live, step: ivr.Step) -> None:
    """The flow took a turn on a campaign call: remember where it went."""
    leg = ctrl.campaign_legs.get(live.ref)
    if leg is not None:
        leg.outcome = step.outcome


async def failed(ctrl: Controller, session: AsyncSession, leg_id: str, reason: str) -> None:
    """The customer was not reached (busy, no answer, the PBX refused): another attempt
    after the campaign's spacing, or failed after the last."""
    leg = ctrl.campaign_legs.pop(leg_id, None)
    if leg is None:
        return
    row = await session.get(Row, leg.row_id)
    campaign = await session.get(VoiceCampaign, leg.campaign_id)
    if row is not None and campaign is not None and row.status == "dialing":
        campaigns.attempt_failed(row, campaign, reason)


async def ended(ctrl: Controller, session: AsyncSession, live: Live, call: VoiceCall) -> None:
    """An answered campaign call is over: the customer's result, from how it went."""
    leg = ctrl.campaign_legs.pop(live.ref, None)
    if leg is None:
        return
    row = await session.get(Row, leg.row_id)
    if row is None or row.status != CampaignContactStatus.dialing.value:
        return
    variables = dict(((call.ivr or {}).get("state") or {}).get("variables") or {})
    campaigns.finish(row, _result(leg, call, variables), variables)


def _result(leg: CampaignLeg, call: VoiceCall, variables: dict[str, Any]) -> str:
    if call.answered_at is not None:  # an agent talked to them
        return "connected" if leg.mode == "agent" else "handed_over"
    if leg.outcome == "resolved":
        return str(variables.get("result") or "completed")
    if leg.outcome == "callback":
        return "callback_requested"
    if leg.outcome == "handoff" or call.queued_at is not None:
        return "handed_over" if leg.mode == "bot" else "abandoned"
    return "hung_up"


async def restore(ctrl: Controller, session: AsyncSession) -> None:
    """After a restart: calls still up keep their campaign; dials that were in flight are
    counted as failed attempts (the PBX's late answer to one is hung up as not ours)."""
    rows = await session.execute(
        select(Row, VoiceCampaign)
        .join(VoiceCampaign, VoiceCampaign.id == Row.campaign_id)
        .where(
            VoiceCampaign.inbox_id == ctrl.inbox_id,
            Row.status == CampaignContactStatus.dialing.value,
        )
    )
    for row, campaign in rows.all():
        ref = ctrl.by_call_id.get(row.last_call_id or 0)
        if ref is None:
            campaigns.attempt_failed(row, campaign, "lost")
            continue
        ctrl.campaign_legs[ref] = CampaignLeg(campaign.id, row.id, campaign.mode, campaign.queue_id)
