"""The queue: calls in and out of the ACD engine, offers to agents' phones, overflow,
maximum wait, callbacks in line and announcements."""

from __future__ import annotations

import logging
import time
import uuid
from datetime import UTC, datetime
from functools import partial
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.acd.engine import Expire, Offer, Overflow, QueueSpec, Release, Waiting
from omniline.channels.voice import callbacks, calls, prompts, roster
from omniline.channels.voice.contract import (
    Prompt,
    RingSpec,
)
from omniline.channels.voice.core import ControllerBase, Leg, Live
from omniline.channels.voice.models import (
    CallState,
    EndReason,
    VoiceCall,
    VoiceQueue,
)
from omniline.conversations.models import Conversation
from omniline.workspaces.models import Queue

log = logging.getLogger(__name__)


class Queueing(ControllerBase):
    async def _load_queues(self, session: AsyncSession) -> None:
        queue_ids = list(
            await session.scalars(select(Queue.id).where(Queue.workspace_id == self.workspace_id))
        )
        specs = {
            v.queue_id: v
            for v in await session.scalars(
                select(VoiceQueue).where(VoiceQueue.workspace_id == self.workspace_id)
            )
        }
        for qid in queue_ids:
            v = specs.get(qid)
            self.queue_specs[qid] = v
            self.acd.set_queue(
                QueueSpec(
                    id=qid,
                    strategy=v.strategy if v else "longest_idle",  # type: ignore[arg-type]
                    service_level_s=float(v.service_level_s) if v else 20.0,
                    overflow_after_s=float(v.overflow_after_s)
                    if v and v.overflow_after_s
                    else None,
                    overflow_to_queue=v.overflow_to_queue_id if v else None,
                    overflow_to_number=v.overflow_to_number if v else None,
                    max_wait_s=float(v.max_wait_s) if v and v.max_wait_s else None,
                    # The PBX's own ring timeout ends an unanswered ring first (a "no
                    # answer" the agent is marked away for); the engine's is the safety net.
                    ring_timeout_s=(float(v.ring_timeout_s) if v else 20.0) + 5.0,
                )
            )

    async def _to_queue(
        self,
        session: AsyncSession,
        live: Live,
        call: VoiceCall,
        conv: Conversation,
        queue_id: int | None,
        at: datetime,
    ) -> None:
        if queue_id is None or queue_id not in self.queue_specs:
            await self._load_queues(session)
        if queue_id is None or queue_id not in self.queue_specs:
            self._say(live, [Prompt(text=prompts.text("no_agents", live.language))], then="hangup")
            live.state = "closing"
            return
        live.state = CallState.queued.value
        live.queue_id = queue_id
        live.queued_ts = self.ts(at)
        await calls.queued(session, call, conv, queue_id, at)
        every = self._announce_every(queue_id)
        live.announce_at = self.clock() + every if every else None
        await self._actions(session, self._enqueue_acd(live))
        self._push_queues(session)

    def _announce_every(self, queue_id: int) -> float | None:
        spec = self.queue_specs.get(queue_id)
        every = spec.announce_every_s if spec is not None else 30
        return float(every) if every else None

    def _enqueue_acd(self, live: Live) -> list[Any]:
        assert live.queue_id is not None and live.queued_ts is not None
        return self.acd.enqueue(
            Waiting(
                id=live.ref,
                queue_id=live.queue_id,
                entered_at=live.queued_ts,
                priority=live.priority,
                skills=live.skills,
            ),
            self.clock(),
        )

    def _leave_acd(self, live: Live) -> None:
        self.acd.remove(live.ref, self.clock())
        for leg in list(live.legs):
            self._drop_leg(leg)
        live.legs.clear()

    def _drop_leg(self, leg_id: str) -> None:
        leg = self.legs.pop(leg_id, None)
        if leg is None:
            return
        agent = self.agents.get(leg.agent_id or 0)
        if agent is not None and agent.ringing_leg == leg_id:
            agent.ringing_leg = None
            self._push_agent_state(None, agent)
        if leg.kind == "agent":
            self._leg_ending(leg)
        self._cmd(leg_id, lambda: self.pbx.hangup(leg_id))

    async def _actions(self, session: AsyncSession, actions: list[Any]) -> None:
        for action in actions:
            if isinstance(action, Offer):
                action, more = self._phones_free(action)
                if action.agent_ids:
                    await self._offer(session, action)
                await self._actions(session, more)
            elif isinstance(action, Release):
                await self._release(session, action)
            elif isinstance(action, Overflow):
                await self._overflow(session, action)
            elif isinstance(action, Expire):
                await self._expire(session, action)

    def _phones_free(self, offer: Offer) -> tuple[Offer, list[Any]]:
        """The offer without agents whose phone may still hold a leg we hung up (the engine
        freed them on its own clock, say a ring timeout while their answer was on its way):
        they are unavailable until the PBX reports that leg's end (``_leg_ended``)."""
        held = [a for a in offer.agent_ids if (ag := self.agents.get(a)) and ag.ending_legs]
        if not held:
            return offer, []
        more: list[Any] = []
        for agent_id in held:
            more += self.acd.agent_unavailable(agent_id, self.clock())
        free = tuple(a for a in offer.agent_ids if a not in held)
        return Offer(offer.call_id, free), more

    async def _offer(self, session: AsyncSession, offer: Offer) -> None:
        from omniline.channels.voice.outbound import offer_callback

        if offer.call_id.startswith("cb:"):
            await offer_callback(self, session, offer)
            return
        self._ring(session, offer)

    def _decide_now(self, actions: list[Any]) -> None:
        """Carry out ACD decisions taken outside a batch (``_free_on_arrival``): calls' rings
        go out at once, their pushes with the next batch; what needs the database (a
        callback's offer, a release) is left to the next batch."""
        for action in actions:
            if isinstance(action, Offer) and not action.call_id.startswith("cb:"):
                action, more = self._phones_free(action)
                if action.agent_ids:
                    self._ring(None, action)
                self._decide_now(more)
            else:
                self._startup.append(action)

    def _ring(self, session: AsyncSession | None, offer: Offer) -> None:
        """Ring the offer's agents for a call, at once (``_cmd(..., now=True)``); the agents'
        pages hear of it with ``session``'s commit (None: with the next batch's)."""
        live = self.calls.get(offer.call_id)
        if live is None:
            return
        for agent_id in offer.agent_ids:
            agent = self.agents.get(agent_id)
            if agent is None:
                continue
            leg_id = f"a{uuid.uuid4().hex[:20]}"
            self.legs[leg_id] = Leg(leg_id, "agent", agent_id, live.ref)
            live.legs.add(leg_id)
            agent.ringing_leg = leg_id
            spec = RingSpec(
                leg=leg_id,
                endpoint=agent.endpoint,
                caller_id=live.caller,
                timeout_s=self._ring_timeout(live.queue_id),
            )
            self._cmd(leg_id, partial(self.pbx.ring, spec), self._ring_failed(leg_id), now=True)
            self.timing.ring_ms.append((time.perf_counter() - self.arrived) * 1000)
            if session is not None:
                self._push_ringing(session, live, agent)
            else:
                self._later.append(partial(self._push_still_ringing, live, agent, leg_id))

    def _push_still_ringing(
        self, live: Live, agent: roster.Agent, leg_id: str, session: AsyncSession
    ) -> None:
        if agent.ringing_leg == leg_id and leg_id in self.legs:
            self._push_ringing(session, live, agent)

    async def _release(self, session: AsyncSession, release: Release) -> None:
        live = self.calls.get(release.call_id)
        legs = [
            lg
            for lg in self.legs.values()
            if lg.agent_id in release.agent_ids
            and not lg.answered
            and (lg.ref == release.call_id or f"cb:{lg.callback_id}" == release.call_id)
        ]
        for leg in legs:
            if live is not None:
                live.legs.discard(leg.leg)
            self._drop_leg(leg.leg)

    async def _overflow(self, session: AsyncSession, action: Overflow) -> None:
        live = self.calls.get(action.call_id)
        if live is None:
            return
        call, conv = await self._records(session, live)
        if action.to_queue is not None:
            # The engine moved the call, keeping its place in line; the records follow.
            ev = calls.add_event(
                session,
                conv,
                "call_overflow",
                {"from_queue_id": live.queue_id, "to_queue_id": action.to_queue},
                datetime.now(UTC),
            )
            live.queue_id = call.queue_id = conv.queue_id = action.to_queue
            await calls.publish(session, conv, ev)
            return
        self._leave_acd(live)
        number = action.to_number or ""
        calls.add_event(
            session,
            conv,
            "call_overflow",
            {"from_queue_id": live.queue_id, "to_number": number},
            datetime.now(UTC),
        )
        self._say(live, [Prompt(text=prompts.text("transfer", live.language))], then=None)
        ref = live.ref
        self._cmd(ref, lambda: self.pbx.transfer(ref, number), self._gone(ref))
        await self._end(session, live, datetime.now(UTC), EndReason.overflow.value, "system", None)

    async def _expire(self, session: AsyncSession, action: Expire) -> None:
        live = self.calls.get(action.call_id)
        if live is None:
            return
        call, _conv = await self._records(session, live)
        self._leave_acd(live)
        what = [Prompt(text=prompts.text("max_wait", live.language))]
        if live.caller.startswith("+"):
            await callbacks.open_request(
                session,
                workspace_id=self.workspace_id,
                inbox_id=self.inbox_id,
                queue_id=live.queue_id,
                contact_id=live.contact_id,
                conversation_id=live.conv_id,
                number=live.caller,
                reason="expired",
                place_at=call.queued_at or datetime.now(UTC),
                priority=live.priority,
                settings=self.settings,
            )
        self._say(live, what, then="hangup")
        await self._end(session, live, datetime.now(UTC), EndReason.expired.value, "system", None)

    async def _callback_instead(
        self,
        session: AsyncSession,
        live: Live,
        call: VoiceCall,
        conv: Conversation,
        queue_id: int | None,
        reason: str,
        before: list[Prompt],
    ) -> None:
        """The caller chose to be called back: the request keeps their place; the call ends."""
        if not live.caller.startswith("+"):
            self._say(live, before, then="music")
            await self._to_queue(session, live, call, conv, queue_id, datetime.now(UTC))
            return
        place = call.queued_at or datetime.now(UTC)
        cb = await callbacks.open_request(
            session,
            workspace_id=self.workspace_id,
            inbox_id=self.inbox_id,
            queue_id=queue_id,
            contact_id=live.contact_id,
            conversation_id=live.conv_id,
            number=live.caller,
            reason=reason,
            place_at=place,
            priority=live.priority,
            settings=self.settings,
        )
        if cb is not None:
            calls.add_event(
                session,
                conv,
                "callback_requested",
                {"callback_id": cb.id, "reason": reason},
                datetime.now(UTC),
            )
            self._push_callbacks(session)
        self._say(
            live,
            [*before, Prompt(text=prompts.text("callback_taken", live.language))],
            then="hangup",
        )
        await self._end(session, live, datetime.now(UTC), EndReason.callback.value, "system", None)

    def _announce(self, live: Live, now: float) -> None:
        every = self._announce_every(live.queue_id or 0)
        live.announce_at = now + every if every else None
        position = self.acd.position(live.ref)
        wait = self.acd.estimated_wait(live.ref, now)
        what = []
        if position:
            what.append(Prompt(text=prompts.text("position", live.language, n=position)))
        if wait is not None and wait >= 60:
            what.append(Prompt(text=prompts.text("wait", live.language, m=round(wait / 60))))
        if self.settings.callback_digit and live.caller.startswith("+"):
            what.append(
                Prompt(
                    text=prompts.text(
                        "offer_callback", live.language, n=self.settings.callback_digit
                    )
                )
            )
        if what:
            self._say(live, what, then="music")

    async def _due_callbacks(self, session: AsyncSession) -> None:
        now = datetime.now(UTC)
        for cb in await callbacks.due(session, self.inbox_id, now):
            if cb.id in self.callbacks_in_acd or cb.queue_id not in self.queue_specs:
                continue
            self.callbacks_in_acd.add(cb.id)
            await self._actions(
                session,
                self.acd.enqueue(
                    Waiting(
                        id=f"cb:{cb.id}",
                        queue_id=cb.queue_id,
                        entered_at=cb.place_at.timestamp(),
                        priority=cb.priority,
                        kind="callback",
                    ),
                    self.clock(),
                ),
            )
