"""The call brain of one voice inbox: PBX events in, decisions and PBX commands out.

One controller per inbox runs in the process that holds the inbox's PBX link (``link.py``).
Events are handled one batch at a time in one transaction; the PBX commands a batch
decides are sent after its commit, so a crash never leaves a call the database does not
know. The queue itself is the in-memory ACD engine (``omniline.acd``), rebuilt from the
database when a controller starts, so a restart in the middle of calls loses none.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from omniline import db
from omniline.channels.voice import calls, dialer, ivr, prompts, roster
from omniline.channels.voice.answering import Answering
from omniline.channels.voice.config import VoiceSettings
from omniline.channels.voice.contract import (
    CallOffered,
    Digits,
    Held,
    HungUp,
    LegAnswered,
    LegFailed,
    LegRinging,
    LinkState,
    Prompt,
    PromptDone,
    RecordingReady,
    Transferred,
)
from omniline.channels.voice.core import AgentChanged, Command, Item, Leg, Live
from omniline.channels.voice.models import (
    CallbackStatus,
    CallState,
    EndReason,
    VoiceCall,
    VoiceCallback,
    VoiceLink,
)
from omniline.conversations.models import Conversation
from omniline.inboxes.models import Inbox
from omniline.presence.models import Presence

log = logging.getLogger(__name__)

BATCH = 200
NEW_CALLS = 8  # at most this many calls opened per batch
TICK_S = 0.2
CALLBACK_SCAN_S = 2.0
SCAN_S = 0.1  # digit timeouts, announcements, after-call work: looked at this often
# An agent's leg we hung up whose end the PBX never reports is forgotten after this long.
LEG_END_WAIT_S = 10.0


def skills_of(variables: dict[str, Any]) -> frozenset[str]:
    """A menu asks for agents who know something by setting ``skills`` ("uk, mortgage")."""
    raw = str(variables.get("skills") or "")
    return frozenset(s.strip().lower() for s in raw.split(",") if s.strip())


class Controller(Answering):
    async def start(self) -> None:
        """Read the inbox, its queues and agents, and every call still in flight."""
        async with db.sessionmaker()() as session:
            inbox = await session.get(Inbox, self.inbox_id)
            if inbox is None:
                raise LookupError(f"no inbox {self.inbox_id}")
            self.workspace_id = inbox.workspace_id
            self.settings = VoiceSettings.of(inbox.settings)
            await self._load_queues(session)
            for agent in await roster.load(session, self.workspace_id):
                self._set_agent(agent)
            live = await session.scalars(
                select(VoiceCall).where(
                    VoiceCall.inbox_id == self.inbox_id, VoiceCall.state != CallState.ended.value
                )
            )
            for call in live:
                self._startup += self._restore(call)
            await dialer.restore(self, session)
            now = self.clock()
            for agent in self.agents.values():
                self._startup += self._availability(agent, now)
            self._flush_queues(session)
            await db.commit(session)

    def _restore(self, call: VoiceCall) -> list[Any]:
        live = Live(
            music=call.state in (CallState.queued.value, CallState.ringing.value),
            ref=call.ref,
            call_id=call.id,
            conv_id=call.conversation_id,
            contact_id=call.contact_id,
            caller=call.caller,
            state=call.state,
            language=call.language,
            queue_id=call.queue_id,
            priority=call.priority,
            queued_ts=call.queued_at.timestamp() if call.queued_at else None,
            agent_id=call.agent_id,
            agent_leg=call.leg if call.state in ("talking", "hold") else None,
            callback_id=call.callback_id,
            direction=call.direction,
            skills=skills_of(((call.ivr or {}).get("state") or {}).get("variables") or {}),
        )
        self.calls[call.ref] = live
        self.by_call_id[call.id] = call.ref
        if live.agent_leg and live.agent_id:
            self.legs[live.agent_leg] = Leg(
                live.agent_leg, "agent", live.agent_id, call.ref, answered=True
            )
            agent = self.agents.get(live.agent_id)
            if agent is not None:
                agent.call_ref = call.ref
        if call.state in (CallState.queued.value, CallState.ringing.value) and call.queue_id:
            live.state = CallState.queued.value
            return self._enqueue_acd(live)
        return []

    async def run(self) -> None:
        """Handle events until stopped: a batch at a time, timers in between. Behind, the
        agents' hang-ups of the whole backlog go first (``leaving_first``): a freed agent's
        next caller rings without waiting for the events queued ahead of it."""
        while not self._stopped.is_set():
            if not self.backlog:
                with contextlib.suppress(TimeoutError):
                    self.backlog.append(await asyncio.wait_for(self.items.get(), timeout=TICK_S))
            while not self.items.empty():
                self.backlog.append(self.items.get_nowait())
            ordered = self.leaving_first(self.backlog) if len(self.backlog) > 1 else self.backlog
            cut = batch_end(ordered)
            batch, self.backlog = ordered[:cut], ordered[cut:]
            await self.process(batch)

    def queued(self) -> int:
        """Events received and not handled yet (benchmarks)."""
        return self.items.qsize() + len(self.backlog)

    async def process(self, batch: list[tuple[float, Item]]) -> None:
        self._cmds = []
        self._running = batch
        t0 = time.perf_counter()
        try:
            async with db.sessionmaker()() as session:
                calls.defer_publishing(session)
                if self._startup:
                    startup, self._startup = self._startup, []
                    await self._actions(session, startup)
                seen_agents: set[AgentChanged] = set()
                for arrived, item in ahead_of_new_calls(self.leaving_first(batch)):
                    self.arrived = arrived
                    if isinstance(item, AgentChanged):
                        if item in seen_agents:
                            continue  # the same change twice in a batch
                        seen_agents.add(item)
                    await self._handle(session, item)
                    self.handled += 1
                await self._timers(session)
                await calls.publish_deferred(session)
                later, self._later = self._later, []
                for push in later:
                    push(session)
                self._flush_queues(session)
                t1 = time.perf_counter()
                await db.commit(session)
        except Exception:
            log.exception("voice inbox %s: a batch of %d events failed", self.inbox_id, len(batch))
            self._cmds = []
            return
        finally:
            self._running = []
        t2 = time.perf_counter()
        await self._send(self._cmds)
        t3 = time.perf_counter()
        if batch:
            self.timing.add(len(batch), t1 - t0, t2 - t1, t3 - t2)

    def leaving_first(self, batch: list[tuple[float, Item]]) -> list[tuple[float, Item]]:
        """The batch with agents' hang-ups of connected calls first: each frees an agent, who
        rings the next caller at once. One moves only when nothing before it in the batch
        concerns its leg, its call or its agent (their order stays)."""
        first: list[tuple[float, Item]] = []
        rest: list[tuple[float, Item]] = []
        touched: set[str] = set()
        for entry in batch:
            item = entry[1]
            if isinstance(item, LinkState):
                return batch
            leg = self.legs.get(item.ref) if isinstance(item, HungUp) else None
            if (
                isinstance(item, HungUp)
                and leg is not None
                and leg.kind == "agent"
                and leg.answered
                and not {item.ref, leg.ref or "", f"agent:{leg.agent_id}"} & touched
            ):
                first.append(entry)
                continue
            rest.append(entry)
            touched.update(self._concerns(item))
        return first + rest if first else batch

    def _free_on_arrival(self, ev: HungUp, arrived: float) -> None:
        """An agent hung up a connected call (no after-call work): when no event being
        handled or waiting concerns that leg, call or agent, the agent is free now and
        their next caller rings at once, without waiting for the batch in progress and the
        events ahead. The batch that handles the hang-up writes the rest (``_leg_hung_up``,
        which finds the agent's leaving done). Safe before any commit: a crash loses a ring
        only, whose leg the restarted controller hangs up when answered, and the call,
        still queued in the records, is offered again from ``start()``."""
        leg = self.legs.get(ev.ref)
        if (
            leg is None
            or leg.kind != "agent"
            or not leg.answered
            or leg.callback_id is not None
            or self.settings.acw_s
            or self._startup
            or ev.ref in self.calls
            or ev.ref in self.ending
            or ev.ref in self.campaign_legs
            or ev.ref in self._left_early
        ):
            return
        live = self.calls.get(leg.ref or "")
        agent = self.agents.get(leg.agent_id or 0)
        if (
            live is None
            or agent is None
            or live.agent_leg != ev.ref
            or agent.call_ref != live.ref
            or live.state not in (CallState.talking.value, CallState.hold.value)
            or live.direction != "in"
            or live.callback_id is not None
            or live.ref in self.campaign_legs
        ):
            return
        keys = {ev.ref, live.ref, f"agent:{agent.id}"}
        for _, item in self.pending():
            if isinstance(item, LinkState) or keys.intersection(self._concerns(item)):
                return
        left, actions = self._agent_free(live)
        if left is None:
            return
        self._left_early[ev.ref] = left
        previous, self.arrived = self.arrived, arrived
        try:
            self._decide_now(actions)
        finally:
            self.arrived = previous

    def _concerns(self, item: Item) -> list[str]:
        if isinstance(item, AgentChanged):
            return [f"agent:{item.user_id}"]
        if isinstance(item, Command):
            return [self.by_call_id.get(item.call_id, ""), f"agent:{item.by}"]
        key = getattr(item, "ref", None) or getattr(item, "leg", None)
        leg = self.legs.get(key or "")
        out = [str(key or "")]
        if leg is not None:
            out += [leg.ref or "", f"agent:{leg.agent_id}"]
        return out

    async def _handle(self, session: AsyncSession, item: Item) -> None:
        match item:
            case CallOffered():
                await self._offered(session, item)
            case Digits():
                await self._digits(session, item)
            case PromptDone():
                await self._prompt_done(session, item)
            case LegRinging():
                pass
            case LegAnswered():
                await self._leg_answered(session, item)
            case LegFailed():
                await self._leg_failed(session, item)
            case Held():
                await self._held(session, item)
            case HungUp():
                await self._hung_up(session, item)
            case RecordingReady():
                await self._recording(session, item)
            case Transferred():
                await self._transferred(session, item)
            case LinkState():
                await self._link(session, item)
            case AgentChanged():
                await self._agent_changed(session, item)
            case Command():
                from omniline.channels.voice.commands import handle_command

                await handle_command(self, session, item)
            case _:
                log.debug("voice: ignored %r", item)

    async def _offered(self, session: AsyncSession, ev: CallOffered) -> None:
        if ev.ref in self.calls:
            return  # a repeated event
        known = await session.scalar(
            select(VoiceCall.id).where(VoiceCall.inbox_id == self.inbox_id, VoiceCall.ref == ev.ref)
        )
        if known is not None:
            return
        inbox = await session.get(Inbox, self.inbox_id)
        assert inbox is not None
        call, conv, _contact = await calls.open_call(
            session,
            inbox,
            ref=ev.ref,
            caller=ev.caller,
            dialled=ev.dialled,
            name=ev.caller_name,
            at=ev.at,
        )
        live = Live(
            ref=ev.ref,
            call_id=call.id,
            conv_id=conv.id,
            contact_id=call.contact_id,
            caller=call.caller,
            state=CallState.ivr.value,
            language=conv.language or ev.language or self.settings.language,
            queue_id=conv.queue_id,
            priority=conv.priority,
        )
        call.language = live.language[:8]
        self.calls[ev.ref] = live
        self.by_call_id[call.id] = ev.ref
        self._cmd(ev.ref, lambda: self.pbx.answer(ev.ref), self._gone(ev.ref))
        self._push_agentless(session, live, "voice.call_arrived")
        if await ivr.has_menu(session, inbox):
            step = await ivr.turn(
                session, inbox, call, conv, None, operator_digit=self.settings.operator_digit
            )
            await self._apply_step(session, live, call, conv, step)
        else:
            self._say(live, [Prompt(text=prompts.text("welcome", live.language))], then="music")
            await self._to_queue(session, live, call, conv, conv.queue_id, ev.at)

    async def _apply_step(
        self, session: AsyncSession, live: Live, call: VoiceCall, conv: Conversation, step: ivr.Step
    ) -> None:
        dialer.stepped(self, live, step)
        live.language = step.language or live.language
        live.expect = step.expect
        if step.outcome == "wait":
            self._say(live, step.prompts, then="listen")
            return
        if step.outcome == "resolved":
            self._say(live, step.prompts, then="hangup")
            live.state = "closing"
            return
        if step.topic:
            conv.topic = step.topic[:100]
        live.skills = skills_of(step.variables)
        if step.priority is not None:
            live.priority = call.priority = conv.priority = step.priority
        queue_id = step.queue_id or conv.queue_id
        if step.outcome == "callback":
            await self._callback_instead(session, live, call, conv, queue_id, "menu", step.prompts)
            return
        self._say(live, step.prompts, then="music")
        await self._to_queue(session, live, call, conv, queue_id, datetime.now(UTC))

    def _say(self, live: Live, what: list[Prompt], *, then: str | None) -> None:
        """Play prompts on the call; ``then`` says what follows when they end."""
        live.listen_until = None
        if live.prompt is not None:
            old = live.prompt
            self._cmd(live.ref, lambda: self.pbx.stop_prompt(old))
        if not what:
            live.prompt = None
            live.then = None
            self._after_prompt(live, then)
            return
        pid = f"p{next(self._seq)}-{uuid.uuid4().hex[:8]}"
        live.prompt, live.then = pid, then
        ref, language = live.ref, live.language
        if live.music:  # a new call has none yet: its welcome goes out without a stop first
            live.music = False
            self._cmd(ref, lambda: self.pbx.music(ref, False))
        self._cmd(ref, lambda: self.pbx.play(ref, what, language, pid), self._unplayed(ref, pid))

    def _after_prompt(self, live: Live, then: str | None) -> None:
        ref = live.ref
        if then == "listen":
            live.listen_until = self.clock() + self.settings.digit_timeout_s
        elif then == "music":
            live.music = True
            self._cmd(ref, lambda: self.pbx.music(ref, True))
        elif then == "hangup":
            self._cmd(ref, lambda: self.pbx.hangup(ref))

    async def _prompt_done(self, session: AsyncSession, ev: PromptDone) -> None:
        live = self.calls.get(ev.ref)
        if live is None or live.prompt != ev.prompt_id:
            return  # an old prompt, or a leg's
        live.prompt = None
        then, live.then = live.then, None
        self._after_prompt(live, then)

    async def _digits(self, session: AsyncSession, ev: Digits) -> None:
        live = self.calls.get(ev.ref)
        if live is None:
            return
        if live.csat:
            await self._csat_answer(session, live, ev.digits)
            return
        if live.state == CallState.queued.value:
            if ev.digits == self.settings.callback_digit and live.caller.startswith("+"):
                call, conv = await self._records(session, live)
                self._leave_acd(live)
                await self._callback_instead(session, live, call, conv, live.queue_id, "menu", [])
            return
        if live.state != CallState.ivr.value:
            return
        if live.expect == "digits" and not ev.digits.endswith("#"):
            live.buffer += ev.digits
            live.listen_until = self.clock() + min(self.settings.digit_timeout_s, 3.0)
            if live.prompt is not None:
                self._say(live, [], then=None)
                live.listen_until = self.clock() + min(self.settings.digit_timeout_s, 3.0)
            return
        pressed = live.buffer + ev.digits if live.expect == "digits" else ev.digits
        live.buffer = ""
        await self._menu_input(session, live, pressed)

    async def _menu_input(self, session: AsyncSession, live: Live, pressed: str) -> None:
        call, conv = await self._records(session, live)
        inbox = await session.get(Inbox, self.inbox_id)
        assert inbox is not None
        step = await ivr.turn(
            session, inbox, call, conv, pressed, operator_digit=self.settings.operator_digit
        )
        await self._apply_step(session, live, call, conv, step)

    async def _timers(self, session: AsyncSession) -> None:
        now = self.clock()
        await self._actions(session, self.acd.tick(now))
        if now < self._next_scan:
            return  # the scans below cost a pass over every call and agent: not every batch
        self._next_scan = now + SCAN_S
        for live in list(self.calls.values()):
            if live.listen_until is not None and live.listen_until <= now:
                live.listen_until = None
                if live.csat:
                    live.csat = False
                    live.state = "closing"
                    self._say(
                        live, [Prompt(text=prompts.text("thanks", live.language))], then="hangup"
                    )
                elif live.state == CallState.ivr.value:
                    pressed, live.buffer = live.buffer, ""
                    await self._menu_input(session, live, pressed)
            if (
                live.announce_at is not None
                and live.announce_at <= now
                and live.state == CallState.queued.value
                and live.prompt is None
            ):
                self._announce(live, now)
        for leg_id, (_agent_id, since) in list(self.ending.items()):
            if since + LEG_END_WAIT_S <= now:
                log.warning("voice inbox %s: no end reported for leg %s", self.inbox_id, leg_id)
                await self._leg_ended(session, leg_id)
        for agent in self.agents.values():
            if agent.acw_until is not None and agent.acw_until <= now and agent.call_ref is None:
                agent.acw_until = None
                await self._presence(session, agent, Presence.online)
                await self._actions(session, self._availability(agent, now))
                self._push_agent_state(session, agent)
        if now >= self._next_callback_scan:
            self._next_callback_scan = now + CALLBACK_SCAN_S
            await self._due_callbacks(session)
        await dialer.tick(self, session)

    async def _link(self, session: AsyncSession, ev: LinkState) -> None:
        self.link_up = ev.up
        link = await session.get(VoiceLink, self.inbox_id)
        if link is None:
            link = VoiceLink(inbox_id=self.inbox_id, workspace_id=self.workspace_id)
            session.add(link)
        link.up, link.changed_at = ev.up, ev.at
        link.last_error = None if ev.up else ev.error[:500]
        self._to_leads(
            session,
            "voice.link",
            {"inbox_id": self.inbox_id, "up": ev.up, "error": link.last_error},
        )
        if not ev.up or ev.refs is None:
            return
        # Calls and legs the PBX no longer holds ended while we could not hear: close them
        # as lost (an answered call keeps its talk time), so every call stays counted.
        for ref, live in list(self.calls.items()):
            if ref in ev.refs or ref in self.legs:
                continue
            if live.state in (CallState.queued.value, CallState.ringing.value):
                self._leave_acd(live)
            if live.agent_leg:
                self._drop_leg(live.agent_leg)
            answered = live.state in (CallState.talking.value, CallState.hold.value, "survey")
            reason = EndReason.answered.value if answered else EndReason.lost.value
            await self._end(session, live, ev.at, reason, "pbx", None)
            self.calls.pop(ref, None)
        for leg_id in [leg for leg in self.ending if leg not in ev.refs]:
            await self._leg_ended(session, leg_id)
        for leg_id, leg in list(self.legs.items()):
            if leg_id in ev.refs:
                continue
            if leg.answered:
                await self._hung_up(session, HungUp(leg_id, ev.at, None, "pbx"))
            else:
                await self._leg_failed(session, LegFailed(leg_id, "failed", ev.at))
        # Last, so the legs they ring are not taken for legs the PBX lost.
        for offered in ev.waiting:
            if offered.ref not in self.calls:
                await self._offered(session, offered)  # known in the records: ignored there


def get_callback(session: AsyncSession, cb_id: int) -> Awaitable[VoiceCallback | None]:
    return session.get(VoiceCallback, cb_id)


__all__ = ["AgentChanged", "CallbackStatus", "Command", "Controller", "Leg", "Live", "get_callback"]


def batch_end(ordered: list[tuple[float, Item]]) -> int:
    """How many of the ordered backlog's first events make the next batch: at most
    ``BATCH``, and at most ``NEW_CALLS`` new calls (opening one costs a dozen statements: a
    burst of arrivals must not hold up the next batch, where a freed agent's next caller
    rings, for a second)."""
    new = 0
    for n, (_, item) in enumerate(ordered[:BATCH]):
        if isinstance(item, CallOffered):
            new += 1
            if new > NEW_CALLS:
                return n
    return min(len(ordered), BATCH)


def ahead_of_new_calls(batch: list[tuple[float, Item]]) -> list[tuple[float, Item]]:
    """The batch with new calls last: opening a call (its conversation, contact, routing) costs
    far more than the events that free an agent and ring the next caller, which then wait
    less. Each call's own events keep their order: those of a call opened in this batch stay
    after its opening."""
    new = {item.ref for _, item in batch if isinstance(item, CallOffered)}
    if not new or len(batch) == 1:
        return batch
    first = [
        entry
        for entry in batch
        if not isinstance(entry[1], CallOffered) and getattr(entry[1], "ref", None) not in new
    ]
    if not first:
        return batch
    kept = {id(entry) for entry in first}
    return first + [entry for entry in batch if id(entry) not in kept]
