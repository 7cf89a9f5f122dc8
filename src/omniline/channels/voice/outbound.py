"""Calls Omniline makes: the callback (ring the agent first, then dial the customer, so no
customer ever answers to silence), with the request's attempts counted and rescheduled."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from omniline.acd.engine import Offer, Release
from omniline.channels.voice import callbacks, calls, prompts
from omniline.channels.voice.contract import Prompt, RingSpec
from omniline.channels.voice.models import CallbackStatus, EndReason, VoiceCallback
from omniline.inboxes.models import Inbox
from omniline.kit.clock import utcnow
from omniline.presence.models import Presence

if TYPE_CHECKING:
    from omniline.channels.voice.answering import Answering as Controller
    from omniline.channels.voice.core import Leg, Live
    from omniline.channels.voice.queueing import Queueing

CUSTOMER_RING_S = 30.0


async def offer_callback(ctrl: Queueing, session: AsyncSession, offer: Offer) -> None:
    from omniline.channels.voice.core import Leg

    cb_id = int(offer.call_id[3:])
    cb = await session.get(VoiceCallback, cb_id)
    if cb is None or cb.status != CallbackStatus.pending.value:
        ctrl.callbacks_in_acd.discard(cb_id)
        ctrl.acd.remove(offer.call_id, ctrl.clock())
        return
    for agent_id in offer.agent_ids:
        agent = ctrl.agents.get(agent_id)
        if agent is None:
            continue
        leg_id = f"a{uuid.uuid4().hex[:20]}"
        ctrl.legs[leg_id] = Leg(leg_id, "agent", agent_id, None, callback_id=cb.id)
        agent.ringing_leg = leg_id
        spec = RingSpec(
            leg=leg_id,
            endpoint=agent.endpoint,
            caller_id=cb.number,
            timeout_s=ctrl._ring_timeout(cb.queue_id),
        )
        ctrl._cmd(leg_id, partial(ctrl.pbx.ring, spec), ctrl._ring_failed(leg_id), now=True)


async def callback_agent_answered(
    ctrl: Controller, session: AsyncSession, leg: Leg, at: datetime
) -> None:
    """The agent picked up for a callback: now dial the customer on a new leg."""
    from omniline.channels.voice.core import Leg, Live

    cb = await session.get(VoiceCallback, leg.callback_id or 0)
    agent = ctrl.agents.get(leg.agent_id or 0)
    key = f"cb:{leg.callback_id}"
    if cb is None or agent is None or cb.status != CallbackStatus.pending.value:
        ctrl._drop_leg(leg.leg)
        return
    for action in ctrl.acd.answered(key, agent.id, ctrl.clock()):
        if isinstance(action, Release):
            await ctrl._release(session, action)
    ctrl.callbacks_in_acd.discard(cb.id)
    inbox = await session.get(Inbox, ctrl.inbox_id)
    assert inbox is not None
    customer_leg = f"c{uuid.uuid4().hex[:20]}"
    call, conv, _contact = await calls.open_call(
        session,
        inbox,
        ref=customer_leg,
        caller=cb.number,
        dialled=ctrl.settings.caller_id,
        name="",
        at=at,
        direction="out",
        callback_id=cb.id,
    )
    call.agent_id, call.leg, call.queue_id = agent.id, leg.leg, cb.queue_id
    conv.queue_id = cb.queue_id or conv.queue_id
    cb.status, cb.agent_id = CallbackStatus.dialing.value, agent.id
    live = Live(
        ref=customer_leg,
        call_id=call.id,
        conv_id=conv.id,
        contact_id=call.contact_id,
        caller=cb.number,
        state="dialing",
        language=call.language or ctrl.settings.language,
        queue_id=cb.queue_id,
        priority=cb.priority,
        agent_id=agent.id,
        agent_leg=leg.leg,
        callback_id=cb.id,
        direction="out",
    )
    ctrl.calls[customer_leg] = live
    ctrl.by_call_id[call.id] = customer_leg
    leg.ref = customer_leg
    ctrl.legs[customer_leg] = Leg(customer_leg, "customer", agent.id, customer_leg, cb.id)
    agent.ringing_leg, agent.call_ref = None, customer_leg
    await ctrl._presence(session, agent, Presence.on_call)
    say = [Prompt(text=prompts.text("callback_agent", live.language, number=cb.number))]
    agent_leg, language = leg.leg, live.language
    ctrl._cmd(agent_leg, lambda: ctrl.pbx.play(agent_leg, say, language, f"pa-{agent_leg}"))
    spec = RingSpec(
        leg=customer_leg,
        number=cb.number,
        caller_id=ctrl.settings.caller_id,
        timeout_s=CUSTOMER_RING_S,
    )
    ctrl._cmd(customer_leg, lambda: ctrl.pbx.ring(spec), ctrl._ring_failed(customer_leg))
    if cb.conversation_id:
        from omniline.conversations.models import Conversation

        origin = await session.get(Conversation, cb.conversation_id)
        if origin is not None:
            calls.add_event(
                session,
                origin,
                "callback_dialing",
                {
                    "callback_id": cb.id,
                    "agent_id": agent.id,
                    "attempt": cb.attempts + 1,
                    "conversation_id": conv.id,
                },
                at,
            )
    ctrl._push_call(session, live, agent)


async def customer_answered(
    ctrl: Controller, session: AsyncSession, leg: Leg, at: datetime
) -> None:
    live = ctrl.calls.get(leg.leg)
    agent = ctrl.agents.get(leg.agent_id or 0)
    if live is None or agent is None or live.agent_leg is None:
        ctrl._drop_leg(leg.leg)
        return
    call, conv = await ctrl._records(session, live)
    live.state = "talking"
    ref, agent_leg = live.ref, live.agent_leg
    ctrl._cmd(ref, lambda: ctrl.pbx.stop_prompt(f"pa-{agent_leg}"))
    ctrl._cmd(ref, lambda: ctrl.pbx.connect(ref, agent_leg), ctrl._gone(ref))
    await calls.answered(session, call, conv, agent.id, at)
    cb = await session.get(VoiceCallback, live.callback_id or 0)
    if cb is not None:
        cb.attempts += 1
        cb.status, cb.last_result, cb.closed_at = CallbackStatus.done.value, "connected", utcnow()
    ctrl._push_call(session, live, agent)
    ctrl._push_callbacks(session)


async def customer_failed(ctrl: Controller, session: AsyncSession, leg: Leg, reason: str) -> None:
    """The customer did not pick up: the agent hears so and is free again; the request
    gets its next attempt (or fails after the last)."""
    live = ctrl.calls.get(leg.leg)
    cb = await session.get(VoiceCallback, leg.callback_id or 0)
    if cb is not None and cb.status in (CallbackStatus.dialing.value, CallbackStatus.pending.value):
        callbacks.attempt_failed(cb, reason, ctrl.settings)
    if live is None:
        return
    agent = ctrl.agents.get(live.agent_id or 0)
    agent_leg = live.agent_leg
    live.agent_leg = None
    await ctrl._end(session, live, datetime.now(UTC), EndReason.failed.value, "customer", None)
    if agent is not None and agent.call_ref == live.ref:
        agent.call_ref = None
    if agent_leg:
        dropped = ctrl.legs.pop(agent_leg, None)
        if dropped is not None:
            ctrl._leg_ending(dropped)
        say = [Prompt(text=prompts.text("callback_no_answer", live.language))]
        language = live.language
        ctrl._cmd(agent_leg, lambda: ctrl.pbx.play(agent_leg, say, language, f"pn-{agent_leg}"))
        ctrl._cmd(agent_leg, lambda: ctrl.pbx.hangup(agent_leg))
    if agent is not None:
        await ctrl._presence(session, agent, Presence.online)
        await ctrl._actions(session, ctrl._availability(agent, ctrl.clock()))
    ctrl._push_callbacks(session)


async def callback_call_ended(ctrl: Controller, session: AsyncSession, live: Live) -> None:
    cb = await session.get(VoiceCallback, live.callback_id or 0)
    if cb is not None and cb.status == CallbackStatus.dialing.value:
        callbacks.attempt_failed(cb, "ended", ctrl.settings)
        ctrl._push_callbacks(session)
