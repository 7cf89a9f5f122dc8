"""Agents answer or miss, calls are held, and calls end: the figures, after-call work and the
rating question."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.acd.engine import Release
from omniline.channels.voice import callbacks, calls, dialer, prompts, roster
from omniline.channels.voice.contract import (
    Held,
    HungUp,
    LegAnswered,
    LegFailed,
    Prompt,
    RecordingReady,
    Transferred,
)
from omniline.channels.voice.core import AgentChanged, Leg, Live
from omniline.channels.voice.models import (
    CallState,
    EndReason,
    VoiceCall,
)
from omniline.channels.voice.queueing import Queueing
from omniline.conversations.models import Conversation
from omniline.presence.models import Presence
from omniline.presence.service import do_set_presence
from omniline.surveys.phone import phone_survey

log = logging.getLogger(__name__)


class Left(NamedTuple):
    """An agent who left a call (``Answering._agent_leaves``)."""

    agent: roster.Agent
    back_online: bool  # on_call or wrap_up before: presence goes back to online


class Answering(Queueing):
    async def _leg_answered(self, session: AsyncSession, ev: LegAnswered) -> None:
        from omniline.channels.voice.outbound import callback_agent_answered, customer_answered

        leg = self.legs.get(ev.leg)
        if leg is None:
            self._cmd(ev.leg, lambda: self.pbx.hangup(ev.leg))  # not ours (any more)
            return
        leg.answered = True
        if ev.leg in self.campaign_legs:
            await dialer.answered(self, session, ev.leg, ev.at)
            return
        if leg.kind == "customer":
            await customer_answered(self, session, leg, ev.at)
            return
        if leg.callback_id is not None:
            await callback_agent_answered(self, session, leg, ev.at)
            return
        live = self.calls.get(leg.ref or "")
        agent = self.agents.get(leg.agent_id or 0)
        if live is None or agent is None or live.state != CallState.queued.value:
            self._drop_leg(ev.leg)
            return
        for action in self.acd.answered(live.ref, agent.id, self.clock()):
            if isinstance(action, Release):
                await self._release(session, action)
        live.legs.discard(ev.leg)
        for other in list(live.legs):
            self._drop_leg(other)
        live.legs.clear()
        agent.ringing_leg = None
        await self._connect(session, live, agent, ev.leg, ev.at)

    async def _connect(
        self, session: AsyncSession, live: Live, agent: roster.Agent, leg_id: str, at: datetime
    ) -> None:
        call, conv = await self._records(session, live)
        live.state = CallState.talking.value
        live.agent_id, live.agent_leg = agent.id, leg_id
        live.announce_at = live.listen_until = None
        live.music = False  # connecting stops it (contract: connect)
        agent.call_ref = live.ref
        call.leg = leg_id
        ref = live.ref
        if live.prompt is not None:
            old = live.prompt
            live.prompt = None
            self._cmd(ref, lambda: self.pbx.stop_prompt(old))
        self._cmd(ref, lambda: self.pbx.connect(ref, leg_id), self._gone(ref))
        if self.settings.record:
            self._cmd(ref, lambda: self.pbx.record(ref, f"call-{live.call_id}"))
        await calls.answered(session, call, conv, agent.id, at)
        dropped = await callbacks.cancel_for_contact(
            session, self.inbox_id, live.contact_id, result="called_again"
        )
        for cb_id in dropped:
            self._callback_gone(cb_id)
        if dropped:
            self._push_callbacks(session)
        await self._presence(session, agent, Presence.on_call)
        self._push_call(session, live, agent)
        self._push_queues(session)

    def _callback_gone(self, cb_id: int) -> None:
        if cb_id in self.callbacks_in_acd:
            self.callbacks_in_acd.discard(cb_id)
            self.acd.remove(f"cb:{cb_id}", self.clock())

    async def _leg_failed(self, session: AsyncSession, ev: LegFailed) -> None:
        from omniline.channels.voice.outbound import customer_failed

        if ev.leg in self.ending:
            await self._leg_ended(session, ev.leg)
        unsure = ev.leg in self._unsure_rings
        self._unsure_rings.discard(ev.leg)
        leg = self.legs.pop(ev.leg, None)
        if leg is None:
            return
        if unsure and leg.kind == "agent":
            # The phone may be ringing all the same: no other call for it until it is over.
            self._leg_ending(leg)
            self._cmd(ev.leg, lambda: self._hang_up_unsure(ev.leg))
        if ev.leg in self.campaign_legs:
            await dialer.failed(self, session, ev.leg, ev.reason)
            return
        if leg.kind == "customer":
            await customer_failed(self, session, leg, ev.reason)
            return
        agent = self.agents.get(leg.agent_id or 0)
        if agent is None:
            return
        if agent.ringing_leg == ev.leg:
            agent.ringing_leg = None
        key = f"cb:{leg.callback_id}" if leg.callback_id is not None else leg.ref or ""
        live = self.calls.get(leg.ref or "")
        if live is not None:
            live.legs.discard(ev.leg)
        if live is not None:
            _call, conv = await self._records(session, live)
            calls.add_event(
                session, conv, "call_missed", {"agent_id": agent.id, "reason": ev.reason}, ev.at
            )
        actions = self.acd.declined(key, agent.id, self.clock())
        if self.settings.away_after_missed and ev.reason in ("no_answer", "unavailable"):
            # An agent who lets a call ring out is not at the phone: stop offering them calls.
            await self._presence(session, agent, Presence.away)
            actions += self.acd.agent_unavailable(agent.id, self.clock())
        self._push_agent_state(session, agent)
        await self._actions(session, actions)

    async def _held(self, session: AsyncSession, ev: Held) -> None:
        live = self.calls.get(ev.ref)
        if live is None or live.state not in (CallState.talking.value, CallState.hold.value):
            return
        call, conv = await self._records(session, live)
        if ev.on and call.hold_started_at is None:
            call.hold_started_at = ev.at
            live.state = call.state = CallState.hold.value
        elif not ev.on and call.hold_started_at is not None:
            call.hold_s += calls.seconds(call.hold_started_at, ev.at) or 0.0
            call.hold_started_at = None
            live.state = call.state = CallState.talking.value
        else:
            return
        e = calls.add_event(session, conv, "call_hold" if ev.on else "call_unhold", {}, ev.at)
        await calls.publish(session, conv, e)
        agent = self.agents.get(live.agent_id or 0)
        if agent is not None:
            self._push_call(session, live, agent)

    async def _transferred(self, session: AsyncSession, ev: Transferred) -> None:
        """The PBX moved the call by itself (a transfer made on the phone): on the timeline;
        its end in Omniline comes with its hang-up."""
        live = self.calls.get(ev.ref)
        if live is None:
            return
        _call, conv = await self._records(session, live)
        e = calls.add_event(
            session, conv, "call_transferred", {"to_number": ev.to, "by": "pbx"}, ev.at
        )
        await calls.publish(session, conv, e)

    async def _recording(self, session: AsyncSession, ev: RecordingReady) -> None:
        call = await session.scalar(
            select(VoiceCall).where(VoiceCall.inbox_id == self.inbox_id, VoiceCall.ref == ev.ref)
        )
        if call is None:
            return
        call.recording = {"name": ev.name, "duration_s": ev.duration_s, "format": ev.format}
        if ev.url:
            call.recording["url"] = ev.url
        conv = await session.get(Conversation, call.conversation_id)
        if conv is not None:
            e = calls.add_event(
                session,
                conv,
                "call_recording",
                {"call_id": call.id, "duration_s": ev.duration_s},
                ev.at,
            )
            await calls.publish(session, conv, e)

    async def _hung_up(self, session: AsyncSession, ev: HungUp) -> None:
        if ev.ref in self.ending:
            await self._leg_ended(session, ev.ref)
        leg = self.legs.get(ev.ref)
        if leg is not None and ev.ref in self.campaign_legs and ev.ref not in self.calls:
            self.legs.pop(ev.ref, None)  # a dialled customer's leg gone before answering
            await dialer.failed(self, session, ev.ref, "failed")
            return
        if leg is not None and ev.ref not in self.calls:
            await self._leg_hung_up(session, leg, ev)
            return
        live = self.calls.get(ev.ref)
        if live is None:
            return
        side = ev.side or "customer"
        if live.state in (CallState.queued.value, CallState.ringing.value):
            call, conv = await self._records(session, live)
            self._leave_acd(live)
            await self._end(session, live, ev.at, EndReason.abandoned.value, side, ev.cause)
            wait = ev.at.timestamp() - (live.queued_ts or ev.at.timestamp())
            if (
                self.settings.callback_on_abandon
                and wait >= self.settings.short_abandon_s
                and live.caller.startswith("+")
            ):
                cb = await callbacks.open_request(
                    session,
                    workspace_id=self.workspace_id,
                    inbox_id=self.inbox_id,
                    queue_id=live.queue_id,
                    contact_id=live.contact_id,
                    conversation_id=live.conv_id,
                    number=live.caller,
                    reason="abandoned",
                    place_at=call.queued_at or ev.at,
                    priority=live.priority,
                    settings=self.settings,
                )
                if cb is not None:
                    calls.add_event(
                        session,
                        conv,
                        "callback_requested",
                        {"callback_id": cb.id, "reason": "abandoned"},
                        ev.at,
                    )
                    self._push_callbacks(session)
            self._push_queues(session)
            return
        if live.state in (CallState.talking.value, CallState.hold.value):
            if live.agent_leg:
                self._drop_leg(live.agent_leg)
            await self._end(session, live, ev.at, EndReason.answered.value, side, ev.cause)
            return
        in_menu = live.state in (CallState.ivr.value, "closing") and live.agent_id is None
        reason = EndReason.ivr.value if in_menu else None
        await self._end(session, live, ev.at, reason, side, ev.cause)

    async def _leg_hung_up(self, session: AsyncSession, leg: Leg, ev: HungUp) -> None:
        """An agent's phone hung up: the customer hears the rating question (or goodbye)."""
        self.legs.pop(leg.leg, None)
        live = self.calls.get(leg.ref or "")
        agent = self.agents.get(leg.agent_id or 0)
        if live is None or live.agent_leg != leg.leg:
            if agent is None:
                return
            if agent.ringing_leg == leg.leg or not leg.answered:
                # A ring that ended without its answer reported: a ring not taken.
                await self._ring_not_taken(session, leg, agent, live)
            elif agent.call_ref is None:
                await self._actions(session, self._availability(agent, self.clock()))
            return
        # The agent is free first, and the next caller rings, before any reading or writing.
        left = await self._agent_leaves(session, live)
        call, conv = await self._records(session, live)
        await self._agent_done(session, live, call, conv, ev.at, left)
        live.agent_leg = None
        # The inbox's survey settings, when an admin made them, decide (surveys/phone.py).
        survey = await phone_survey(session, conv.inbox_id, live.language)
        ask = self.settings.csat if survey is None else survey.enabled
        live.state = "survey" if ask else "closing"
        e = calls.add_event(session, conv, "call_agent_left", {"agent_id": live.agent_id}, ev.at)
        await calls.publish(session, conv, e)
        if ask and live.direction == "in":
            live.csat = True
            question = (survey.question if survey else None) or prompts.text("csat", live.language)
            self._say(live, [Prompt(text=question)], then="listen")
        else:
            self._say(live, [Prompt(text=prompts.text("thanks", live.language))], then="hangup")

    async def _ring_not_taken(
        self, session: AsyncSession, leg: Leg, agent: roster.Agent, live: Live | None
    ) -> None:
        if agent.ringing_leg == leg.leg:
            agent.ringing_leg = None
        if live is not None:
            live.legs.discard(leg.leg)
        key = f"cb:{leg.callback_id}" if leg.callback_id is not None else leg.ref or ""
        actions = self.acd.declined(key, agent.id, self.clock())
        actions += self._availability(agent, self.clock())
        self._push_agent_state(session, agent)
        await self._actions(session, actions)

    async def _leg_ended(self, session: AsyncSession, leg_id: str) -> None:
        """The PBX reports the end of an agent's leg we hung up: the phone is free again."""
        agent_id, _since = self.ending.pop(leg_id)
        agent = self.agents.get(agent_id)
        if agent is None:
            return
        agent.ending_legs.discard(leg_id)
        if not agent.ending_legs and agent.call_ref is None and agent.ringing_leg is None:
            await self._actions(session, self._availability(agent, self.clock()))

    async def _agent_leaves(self, session: AsyncSession, live: Live) -> Left | None:
        """The agent's part of the call is over, in memory: without after-call work the agent
        takes the next waiting call at once (its ring goes out before any reading or writing
        for this call). None if the agent did not hold this call; ``_agent_done`` writes."""
        early: Left | None = self._left_early.pop(live.agent_leg or "", None)
        if early is not None:
            return early  # done when the hang-up arrived (``_free_on_arrival``)
        left, actions = self._agent_free(live)
        await self._actions(session, actions)
        return left

    def _agent_free(self, live: Live) -> tuple[Left | None, list[Any]]:
        """``_agent_leaves`` without carrying out the ACD's decisions, which it returns."""
        agent = self.agents.get(live.agent_id or 0)
        if agent is None or agent.call_ref != live.ref:
            return None, []
        agent.call_ref = None
        back = False
        actions: list[Any] = []
        if not self.settings.acw_s:
            back = agent.status in (Presence.on_call.value, Presence.wrap_up.value)
            if back:
                agent.status = Presence.online.value
            actions = self._availability(agent, self.clock())
        return Left(agent, back), actions

    async def _agent_done(
        self,
        session: AsyncSession,
        live: Live,
        call: VoiceCall,
        conv: Conversation,
        at: datetime,
        left: Left | None,
    ) -> None:
        """The agent's part of the call is over: talk time ends, after-call work begins.
        ``left``: what ``_agent_leaves`` did (None: the agent did not hold this call)."""
        if call.hold_started_at is not None:
            call.hold_s += calls.seconds(call.hold_started_at, at) or 0.0
            call.hold_started_at = None
        if "talk_end" not in (call.ivr or {}):
            call.ivr = {**(call.ivr or {}), "talk_end": at.isoformat()}
        if left is None:
            return
        agent = left.agent
        if call.queue_id and call.answered_at:
            talk = calls.seconds(call.answered_at, at) or 0.0
            self.acd.handled(call.queue_id, talk + self.settings.acw_s)
        if self.settings.acw_s:
            agent.acw_until = self.clock() + self.settings.acw_s
            call.acw_until = datetime.fromtimestamp(agent.acw_until, UTC)
            await self._presence(session, agent, Presence.wrap_up)
        elif left.back_online:
            await do_set_presence(
                session,
                self.workspace_id,
                agent.id,
                Presence.online.value,
                queue_ids=agent.queue_ids,
            )
        self._push_call(session, live, agent, ended=True)

    async def _csat_answer(self, session: AsyncSession, live: Live, digits: str) -> None:
        from omniline.surveys.service import record_answer

        score = digits[:1]
        if not score.isdigit() or not 1 <= int(score) <= 5:
            call, conv = await self._records(session, live)
            survey = await phone_survey(session, conv.inbox_id, live.language)
            question = (survey.question if survey else None) or prompts.text("csat", live.language)
            self._say(live, [Prompt(text=question)], then="listen")
            return
        live.csat = False
        call, conv = await self._records(session, live)
        call.csat = int(score)
        await record_answer(session, conv, agent_id=call.agent_id, kind="csat", score=int(score))
        e = calls.add_event(
            session,
            conv,
            "survey_answered",
            {"kind": "csat", "score": int(score), "agent_id": call.agent_id},
            datetime.now(UTC),
        )
        await calls.publish(session, conv, e)
        live.state = "closing"
        survey = await phone_survey(session, conv.inbox_id, live.language)
        thanks = (survey.thanks if survey else None) or prompts.text("thanks", live.language)
        self._say(live, [Prompt(text=thanks)], then="hangup")

    async def _end(
        self,
        session: AsyncSession,
        live: Live,
        at: datetime,
        reason: str | None,
        side: str | None,
        cause: int | None,
    ) -> None:
        """Close the call's records (once) and forget it when it is over on the PBX too."""
        left = await self._agent_leaves(session, live) if live.agent_leg else None
        call, conv = await self._records(session, live)
        if live.agent_leg:
            await self._agent_done(session, live, call, conv, at, left)
        if call.ended_at is None:
            await calls.ended(
                session,
                call,
                conv,
                at,
                reason=reason or call.end_reason or EndReason.answered.value,
                side=side,
                cause=cause,
                short_abandon_s=self.settings.short_abandon_s,
            )
            if live.callback_id is not None:
                from omniline.channels.voice.outbound import callback_call_ended

                await callback_call_ended(self, session, live)
            if live.ref in self.campaign_legs:
                await dialer.ended(self, session, live, call)
        if reason in (EndReason.callback.value, EndReason.expired.value, EndReason.overflow.value):
            return  # the caller still hears the goodbye; the PBX's hang-up forgets the call
        self.calls.pop(live.ref, None)
        self.by_call_id.pop(live.call_id, None)

    async def _agent_changed(self, session: AsyncSession, item: AgentChanged) -> None:
        known = self.agents.get(item.user_id)
        if known is not None and item.status is not None and item.status == known.status:
            return  # our own presence write coming back, or nothing new: no need to re-read
        found = await roster.load(session, self.workspace_id, [item.user_id])
        if not found:
            if item.user_id in self.agents:
                await self._actions(session, self.acd.remove_agent(item.user_id, self.clock()))
                del self.agents[item.user_id]
            return
        agent = found[0]
        self._set_agent(agent)
        await self._actions(session, self._availability(self.agents[agent.id], self.clock()))
