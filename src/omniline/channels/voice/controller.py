"""The call brain of one voice inbox: PBX events in, decisions and PBX commands out.

One controller per inbox runs in the process that holds the inbox's PBX link (``link.py``).
Events are handled one batch at a time in one transaction; the PBX commands a batch
decides are sent after its commit, so a crash never leaves a call the database does not
know. The queue itself is the in-memory ACD engine (``omniline.acd``), rebuilt from the
database when a controller starts, so a restart in the middle of calls loses none.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from omniline import db
from omniline.acd.engine import Acd, Expire, Offer, Overflow, QueueSpec, Release, Waiting
from omniline.channels.voice import callbacks, calls, ivr, prompts, roster
from omniline.channels.voice.config import VoiceSettings
from omniline.channels.voice.contract import (
    CallOffered,
    CommandFailed,
    Digits,
    Held,
    HungUp,
    LegAnswered,
    LegFailed,
    LegRinging,
    LinkState,
    Pbx,
    PbxEvent,
    Prompt,
    PromptDone,
    RecordingReady,
    RingSpec,
)
from omniline.channels.voice.models import (
    CallbackStatus,
    CallState,
    EndReason,
    VoiceCall,
    VoiceCallback,
    VoiceLink,
    VoiceQueue,
)
from omniline.conversations.models import Conversation
from omniline.inboxes.models import Inbox
from omniline.presence.models import Presence
from omniline.realtime.events import Audience, RealtimeEvent
from omniline.realtime.service import publish_on_commit
from omniline.workspaces.models import Queue

log = logging.getLogger(__name__)

BATCH = 200
TICK_S = 0.2
CALLBACK_SCAN_S = 2.0


@dataclass(frozen=True, slots=True)
class AgentChanged:
    """Presence, phone or queues of an agent changed (from any process, over the bus)."""

    user_id: int


@dataclass(frozen=True, slots=True)
class Command:
    """An agent's or supervisor's action from the workspace (hold, hang up, transfer...)."""

    action: str
    call_id: int
    by: int
    args: dict[str, Any] = field(default_factory=dict)


Item = PbxEvent | AgentChanged | Command


@dataclass(slots=True)
class Live:
    """A call the controller holds (the customer's leg ``ref``)."""

    ref: str
    call_id: int
    conv_id: int
    contact_id: int
    caller: str
    state: str
    language: str
    queue_id: int | None = None
    priority: int = 0
    queued_ts: float | None = None
    agent_id: int | None = None
    agent_leg: str | None = None
    legs: set[str] = field(default_factory=set)  # agents' phones ringing for it
    prompt: str | None = None
    then: str | None = None  # after the prompt: "listen", "music", "hangup"
    expect: str = "menu"
    buffer: str = ""
    listen_until: float | None = None
    announce_at: float | None = None
    csat: bool = False
    callback_id: int | None = None  # a call made for a callback request
    direction: str = "in"


@dataclass(slots=True)
class Leg:
    leg: str
    kind: str  # "agent" (a phone rung for a call or a callback) or "customer" (dialled)
    agent_id: int | None = None
    ref: str | None = None  # the inbound call it serves
    callback_id: int | None = None
    answered: bool = False


class Controller:
    def __init__(self, inbox_id: int, pbx: Pbx, *, clock: Callable[[], float] = time.time):
        self.inbox_id = inbox_id
        self.pbx = pbx
        self.clock = clock
        self.workspace_id = 0
        self.settings = VoiceSettings()
        self.acd = Acd()
        self.calls: dict[str, Live] = {}
        self.by_call_id: dict[int, str] = {}
        self.legs: dict[str, Leg] = {}
        self.agents: dict[int, roster.Agent] = {}
        self.queue_specs: dict[int, VoiceQueue | None] = {}
        self.callbacks_in_acd: set[int] = set()
        self.items: asyncio.Queue[Item] = asyncio.Queue()
        self.link_up = False
        self._cmds: list[
            tuple[str, Callable[[], Awaitable[None]], Callable[[CommandFailed], Item | None] | None]
        ] = []
        self._seq = itertools.count(1)
        self._next_callback_scan = 0.0
        self._stopped = asyncio.Event()
        self.handled = 0  # events handled (benchmarks)
        self._startup: list[Any] = []  # the ACD's first decisions after a restart

    # -- life --------------------------------------------------------------------------------

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
            now = self.clock()
            for agent in self.agents.values():
                self._startup += self._availability(agent, now)
            await db.commit(session)

    def _restore(self, call: VoiceCall) -> list[Any]:
        live = Live(
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

    def _set_agent(self, agent: roster.Agent) -> None:
        old = self.agents.get(agent.id)
        if old is not None:
            agent.call_ref, agent.ringing_leg, agent.acw_until = (
                old.call_ref,
                old.ringing_leg,
                old.acw_until,
            )
        self.agents[agent.id] = agent
        self.acd.set_agent(agent.id, queue_ids=agent.queue_ids, skills=agent.skills)

    def submit(self, item: Item) -> None:
        self.items.put_nowait(item)

    async def sink(self, event: PbxEvent) -> None:
        self.items.put_nowait(event)

    def stop(self) -> None:
        self._stopped.set()

    async def run(self) -> None:
        """Handle events until stopped: a batch at a time, timers in between."""
        while not self._stopped.is_set():
            try:
                first = await asyncio.wait_for(self.items.get(), timeout=TICK_S)
                batch: list[Item] = [first]
            except TimeoutError:
                batch = []
            while batch and len(batch) < BATCH and not self.items.empty():
                batch.append(self.items.get_nowait())
            await self.process(batch)

    async def process(self, batch: list[Item]) -> None:
        self._cmds = []
        try:
            async with db.sessionmaker()() as session:
                if self._startup:
                    startup, self._startup = self._startup, []
                    await self._actions(session, startup)
                for item in batch:
                    await self._handle(session, item)
                    self.handled += 1
                await self._timers(session)
                await db.commit(session)
        except Exception:
            log.exception("voice inbox %s: a batch of %d events failed", self.inbox_id, len(batch))
            self._cmds = []
            return
        await self._send(self._cmds)

    async def _send(
        self,
        cmds: list[
            tuple[str, Callable[[], Awaitable[None]], Callable[[CommandFailed], Item | None] | None]
        ],
    ) -> None:
        """Commands of one call run in order; different calls' commands run side by side."""
        groups: dict[str, list[Any]] = {}
        for key, fn, on_fail in cmds:
            groups.setdefault(key, []).append((fn, on_fail))

        async def run_group(items: list[Any]) -> None:
            for fn, on_fail in items:
                try:
                    await fn()
                except CommandFailed as exc:
                    log.warning("voice inbox %s: %s", self.inbox_id, exc)
                    follow = on_fail(exc) if on_fail else None
                    if follow is not None:
                        self.submit(follow)

        await asyncio.gather(*(run_group(items) for items in groups.values()))

    def _cmd(
        self,
        key: str,
        fn: Callable[[], Awaitable[None]],
        on_fail: Callable[[CommandFailed], Item | None] | None = None,
    ) -> None:
        self._cmds.append((key, fn, on_fail))

    # -- dispatch ----------------------------------------------------------------------------

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
            case LinkState():
                await self._link(session, item)
            case AgentChanged():
                await self._agent_changed(session, item.user_id)
            case Command():
                from omniline.channels.voice.commands import handle_command

                await handle_command(self, session, item)
            case _:
                log.debug("voice: ignored %r", item)

    def ts(self, at: datetime) -> float:
        return at.timestamp()

    async def _records(self, session: AsyncSession, live: Live) -> tuple[VoiceCall, Conversation]:
        call = await session.get(VoiceCall, live.call_id)
        conv = await session.get(Conversation, live.conv_id)
        assert call is not None and conv is not None
        return call, conv

    # -- a call arrives ------------------------------------------------------------------------

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

    def _gone(self, ref: str) -> Callable[[CommandFailed], Item | None]:
        def on_fail(exc: CommandFailed) -> Item | None:
            return HungUp(ref, datetime.now(UTC), None, "pbx") if exc.gone else None

        return on_fail

    # -- the menu ------------------------------------------------------------------------------

    async def _apply_step(
        self, session: AsyncSession, live: Live, call: VoiceCall, conv: Conversation, step: ivr.Step
    ) -> None:
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
        self._cmd(ref, lambda: self.pbx.music(ref, False))
        self._cmd(ref, lambda: self.pbx.play(ref, what, language, pid), self._gone(ref))

    def _after_prompt(self, live: Live, then: str | None) -> None:
        ref = live.ref
        if then == "listen":
            live.listen_until = self.clock() + self.settings.digit_timeout_s
        elif then == "music":
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

    # -- the queue -----------------------------------------------------------------------------

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
        self._cmd(leg_id, lambda: self.pbx.hangup(leg_id))

    async def _actions(self, session: AsyncSession, actions: list[Any]) -> None:
        for action in actions:
            if isinstance(action, Offer):
                await self._offer(session, action)
            elif isinstance(action, Release):
                await self._release(session, action)
            elif isinstance(action, Overflow):
                await self._overflow(session, action)
            elif isinstance(action, Expire):
                await self._expire(session, action)

    async def _offer(self, session: AsyncSession, offer: Offer) -> None:
        from omniline.channels.voice.outbound import offer_callback

        if offer.call_id.startswith("cb:"):
            await offer_callback(self, session, offer)
            return
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
            self._cmd(leg_id, partial(self.pbx.ring, spec), self._ring_failed(leg_id))
            self._push_ringing(session, live, agent)

    def _ring_timeout(self, queue_id: int | None) -> float:
        spec = self.queue_specs.get(queue_id or 0)
        return float(spec.ring_timeout_s) if spec is not None else 20.0

    def _ring_failed(self, leg: str) -> Callable[[CommandFailed], Item | None]:
        def on_fail(exc: CommandFailed) -> Item | None:
            return LegFailed(leg, "unavailable", datetime.now(UTC))

        return on_fail

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

    # -- agents answer or not ------------------------------------------------------------------

    async def _leg_answered(self, session: AsyncSession, ev: LegAnswered) -> None:
        from omniline.channels.voice.outbound import callback_agent_answered, customer_answered

        leg = self.legs.get(ev.leg)
        if leg is None:
            self._cmd(ev.leg, lambda: self.pbx.hangup(ev.leg))  # not ours (any more)
            return
        leg.answered = True
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

        leg = self.legs.pop(ev.leg, None)
        if leg is None:
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

    # -- during the call -----------------------------------------------------------------------

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

    async def _recording(self, session: AsyncSession, ev: RecordingReady) -> None:
        call = await session.scalar(
            select(VoiceCall).where(VoiceCall.inbox_id == self.inbox_id, VoiceCall.ref == ev.ref)
        )
        if call is None:
            return
        call.recording = {"name": ev.name, "duration_s": ev.duration_s, "format": ev.format}
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
        leg = self.legs.get(ev.ref)
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
        if agent is not None and agent.ringing_leg == leg.leg:
            agent.ringing_leg = None
        if live is None or live.agent_leg != leg.leg:
            if agent is not None and agent.call_ref is None:
                self._availability(agent, self.clock())
            return
        call, conv = await self._records(session, live)
        await self._agent_done(session, live, call, conv, ev.at)
        live.agent_leg = None
        live.state = "survey" if self.settings.csat else "closing"
        e = calls.add_event(session, conv, "call_agent_left", {"agent_id": live.agent_id}, ev.at)
        await calls.publish(session, conv, e)
        if self.settings.csat and live.direction == "in":
            live.csat = True
            self._say(live, [Prompt(text=prompts.text("csat", live.language))], then="listen")
        else:
            self._say(live, [Prompt(text=prompts.text("thanks", live.language))], then="hangup")

    async def _agent_done(
        self, session: AsyncSession, live: Live, call: VoiceCall, conv: Conversation, at: datetime
    ) -> None:
        """The agent's part of the call is over: talk time ends, after-call work begins."""
        if call.hold_started_at is not None:
            call.hold_s += calls.seconds(call.hold_started_at, at) or 0.0
            call.hold_started_at = None
        if "talk_end" not in (call.ivr or {}):
            call.ivr = {**(call.ivr or {}), "talk_end": at.isoformat()}
        agent = self.agents.get(live.agent_id or 0)
        if agent is None or agent.call_ref != live.ref:
            return
        agent.call_ref = None
        agent.acw_until = self.clock() + self.settings.acw_s
        call.acw_until = datetime.fromtimestamp(agent.acw_until, UTC)
        if call.queue_id and call.answered_at:
            talk = calls.seconds(call.answered_at, at) or 0.0
            self.acd.handled(call.queue_id, talk + self.settings.acw_s)
        await self._presence(
            session, agent, Presence.wrap_up if self.settings.acw_s else Presence.online
        )
        self._push_call(session, live, agent, ended=True)

    async def _csat_answer(self, session: AsyncSession, live: Live, digits: str) -> None:
        from omniline.surveys.service import record_answer

        score = digits[:1]
        if not score.isdigit() or not 1 <= int(score) <= 5:
            self._say(live, [Prompt(text=prompts.text("csat", live.language))], then="listen")
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
        self._say(live, [Prompt(text=prompts.text("thanks", live.language))], then="hangup")

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
        call, conv = await self._records(session, live)
        if live.agent_leg:
            await self._agent_done(session, live, call, conv, at)
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
        if reason in (EndReason.callback.value, EndReason.expired.value, EndReason.overflow.value):
            return  # the caller still hears the goodbye; the PBX's hang-up forgets the call
        self.calls.pop(live.ref, None)
        self.by_call_id.pop(live.call_id, None)

    # -- agents --------------------------------------------------------------------------------

    def _availability(self, agent: roster.Agent, now: float) -> list[Any]:
        if agent.free(now):
            return self.acd.agent_available(agent.id, now, load=agent.chats)
        return self.acd.agent_unavailable(agent.id, now)

    async def _agent_changed(self, session: AsyncSession, user_id: int) -> None:
        found = await roster.load(session, self.workspace_id, [user_id])
        if not found:
            if user_id in self.agents:
                await self._actions(session, self.acd.remove_agent(user_id, self.clock()))
                del self.agents[user_id]
            return
        agent = found[0]
        self._set_agent(agent)
        await self._actions(session, self._availability(self.agents[agent.id], self.clock()))

    async def _presence(self, session: AsyncSession, agent: roster.Agent, status: Presence) -> None:
        from omniline.presence.service import do_set_presence

        if agent.status == status.value:
            return
        if status == Presence.online and agent.status not in (
            Presence.on_call.value,
            Presence.wrap_up.value,
        ):
            return  # the agent went away or offline meanwhile: leave it so
        if status in (Presence.on_call, Presence.wrap_up) and agent.status not in (
            Presence.online.value,
            Presence.on_call.value,
            Presence.wrap_up.value,
        ):
            return
        agent.status = status.value
        await do_set_presence(session, self.workspace_id, agent.id, status.value)

    # -- timers ----------------------------------------------------------------------------------

    async def _timers(self, session: AsyncSession) -> None:
        now = self.clock()
        await self._actions(session, self.acd.tick(now))
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
        for agent in self.agents.values():
            if agent.acw_until is not None and agent.acw_until <= now and agent.call_ref is None:
                agent.acw_until = None
                await self._presence(session, agent, Presence.online)
                await self._actions(session, self._availability(agent, now))
                self._push_agent_state(session, agent)
        if now >= self._next_callback_scan:
            self._next_callback_scan = now + CALLBACK_SCAN_S
            await self._due_callbacks(session)

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

    # -- the PBX link ----------------------------------------------------------------------------

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
        # Calls and legs the PBX no longer holds ended while we could not hear: close them, so
        # every call stays in the statistics.
        for ref, live in list(self.calls.items()):
            if ref not in ev.refs and (live.direction == "in" or live.state != "dialing"):
                await self._hung_up(session, HungUp(ref, ev.at, None, "pbx"))
        for leg_id, leg in list(self.legs.items()):
            if leg_id not in ev.refs and leg_id not in self.calls:
                if leg.answered:
                    await self._hung_up(session, HungUp(leg_id, ev.at, None, "pbx"))
                else:
                    await self._leg_failed(session, LegFailed(leg_id, "failed", ev.at))

    # -- what the workspace sees ----------------------------------------------------------

    def call_view(
        self, live: Live, agent: roster.Agent | None = None, *, ended: bool = False
    ) -> dict[str, Any]:
        return {
            "inbox_id": self.inbox_id,
            "call_id": live.call_id,
            "conversation_id": live.conv_id,
            "contact_id": live.contact_id,
            "caller": live.caller,
            "state": "wrap_up" if ended else live.state,
            "queue_id": live.queue_id,
            "direction": live.direction,
            "acw_until": (
                datetime.fromtimestamp(agent.acw_until, UTC).isoformat()
                if ended and agent is not None and agent.acw_until
                else None
            ),
        }

    def _push_call(
        self, session: AsyncSession, live: Live, agent: roster.Agent, *, ended: bool = False
    ) -> None:
        publish_on_commit(
            session,
            RealtimeEvent(
                type="voice.call",
                data=self.call_view(live, agent, ended=ended),
                audience=Audience(workspace_id=self.workspace_id, user_id=agent.id),
            ),
        )

    def _push_ringing(self, session: AsyncSession, live: Live, agent: roster.Agent) -> None:
        data = self.call_view(live) | {"state": "ringing"}
        publish_on_commit(
            session,
            RealtimeEvent(
                type="voice.call",
                data=data,
                audience=Audience(workspace_id=self.workspace_id, user_id=agent.id),
            ),
        )

    def _push_agent_state(self, session: AsyncSession | None, agent: roster.Agent) -> None:
        if session is None:
            return
        publish_on_commit(
            session,
            RealtimeEvent(
                type="voice.agent",
                data={
                    "inbox_id": self.inbox_id,
                    "user_id": agent.id,
                    "status": agent.status,
                    "ringing": agent.ringing_leg is not None,
                    "talking": agent.call_ref is not None,
                },
                audience=Audience(workspace_id=self.workspace_id, user_id=agent.id),
            ),
        )

    def _push_agentless(self, session: AsyncSession, live: Live, kind: str) -> None:
        return None

    def _to_leads(self, session: AsyncSession, kind: str, data: dict[str, Any]) -> None:
        """To administrators, and to supervisors through the inbox's queues: a supervisor
        limited to some queues gets no event without a queue of theirs (auth/access.py)."""
        ws = self.workspace_id
        audiences = [Audience(workspace_id=ws, roles=["admin"])] + [
            Audience(workspace_id=ws, queue_id=q, roles=["supervisor"])
            for q in sorted(self.queue_specs)
        ]
        publish_on_commit(
            session, *(RealtimeEvent(type=kind, data=data, audience=a) for a in audiences)
        )

    def _push_queues(self, session: AsyncSession) -> None:
        self._to_leads(
            session, "voice.queues", {"inbox_id": self.inbox_id, "queues": self.queue_stats()}
        )

    def _push_callbacks(self, session: AsyncSession) -> None:
        self._to_leads(session, "voice.callbacks", {"inbox_id": self.inbox_id})

    def queue_stats(self) -> list[dict[str, Any]]:
        now = self.clock()
        out = []
        for qid in self.queue_specs:
            waiting = [w for w in self.acd.waiting(qid) if w.kind == "call"]
            out.append(
                {
                    "queue_id": qid,
                    "waiting": len(waiting),
                    "longest_wait_s": round(
                        max((now - w.entered_at for w in waiting), default=0.0), 1
                    ),
                    "callbacks_waiting": len(self.acd.waiting(qid)) - len(waiting),
                }
            )
        return out


def get_callback(session: AsyncSession, cb_id: int) -> Awaitable[VoiceCallback | None]:
    return session.get(VoiceCallback, cb_id)


__all__ = ["AgentChanged", "CallbackStatus", "Command", "Controller", "Leg", "Live", "get_callback"]
