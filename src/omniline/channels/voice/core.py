"""The controller's state, its PBX commands, and what the workspace is told (see
``controller.py``)."""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.util import identity_key

from omniline.acd.engine import Acd
from omniline.channels.voice import roster
from omniline.channels.voice.config import VoiceSettings
from omniline.channels.voice.contract import (
    CommandFailed,
    HungUp,
    LegFailed,
    Pbx,
    PbxEvent,
    Prompt,
    PromptDone,
)
from omniline.channels.voice.models import (
    VoiceCall,
    VoiceQueue,
)
from omniline.conversations.models import Conversation
from omniline.presence.models import Presence
from omniline.realtime.events import Audience, RealtimeEvent
from omniline.realtime.service import publish_on_commit

if TYPE_CHECKING:
    from omniline.channels.voice.ivr import Step

log = logging.getLogger(__name__)

BATCH = 200
TICK_S = 0.2
CALLBACK_SCAN_S = 2.0


@dataclass(frozen=True, slots=True)
class AgentChanged:
    """Presence, phone or queues of an agent changed (from any process, over the bus).

    ``status``: the presence the change set, when it says (``presence.changed`` does); the
    controller's own presence writes come back this way and need no re-reading."""

    user_id: int
    status: str | None = None


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
    music: bool = False  # music on hold was started (and not stopped since)
    callback_id: int | None = None  # a call made for a callback request
    direction: str = "in"
    # What an agent must know for this call (a menu's variable ``skills``: "uk,mortgage").
    skills: frozenset[str] = frozenset()


@dataclass(slots=True)
class Leg:
    leg: str
    kind: str  # "agent" (a phone rung for a call or a callback) or "customer" (dialled)
    agent_id: int | None = None
    ref: str | None = None  # the inbound call it serves
    callback_id: int | None = None
    answered: bool = False


@dataclass(slots=True)
class Timing:
    """Where a controller's time goes (benchmarks read it): batches of events, seconds
    handling them, committing, and sending the PBX commands."""

    batches: int = 0
    # Milliseconds from the event that made a ring possible arriving to the ring being sent.
    ring_ms: deque[float] = field(default_factory=lambda: deque(maxlen=100_000))
    items: int = 0
    handle_s: float = 0.0
    commit_s: float = 0.0
    send_s: float = 0.0

    def add(self, items: int, handle: float, commit: float, send: float) -> None:
        self.batches += 1
        self.items += items
        self.handle_s += handle
        self.commit_s += commit
        self.send_s += send


@dataclass(slots=True)
class CampaignLeg:
    """A customer dialled for a campaign (``dialer.py``), by our leg id, which stays the
    call's ref once they answer."""

    campaign_id: int
    row_id: int  # the customer's row in voice_campaign_contacts
    mode: str  # bot | agent
    queue_id: int | None
    outcome: str = ""  # the flow's last outcome: wait, resolved, handoff, callback


class ControllerBase:
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
        self.campaign_legs: dict[str, CampaignLeg] = {}
        self.next_campaign_scan = 0.0
        # Items with the time they arrived (perf_counter), for the offer-to-ring figure.
        self.items: asyncio.Queue[tuple[float, Item]] = asyncio.Queue()
        self.backlog: list[tuple[float, Item]] = []  # taken from ``items``, not handled yet
        self.arrived = 0.0  # when the item being handled arrived
        self.link_up = False
        self._cmds: list[
            tuple[str, Callable[[], Awaitable[None]], Callable[[CommandFailed], Item | None] | None]
        ] = []
        self._seq = itertools.count(1)
        self._next_callback_scan = 0.0
        self._next_scan = 0.0  # the controller's timers (controller.py: SCAN_S)
        self._stopped = asyncio.Event()
        self.timing = Timing()
        self._tails: dict[str, asyncio.Task[None]] = {}  # each key's last command group
        self.handled = 0  # events handled (benchmarks)
        # ACD decisions the next batch carries out: the first after a restart, and those
        # taken outside a batch that need the database (``_decide_now``).
        self._startup: list[Any] = []
        # Agents' legs we hung up, until the PBX reports their end: leg -> (agent, since).
        self.ending: dict[str, tuple[int, float]] = {}
        self._queues_changed = False  # queue figures to push once the batch is done
        self._unsure_rings: set[str] = set()  # rings the PBX never answered (may exist)
        self._running: list[tuple[float, Item]] = []  # the batch being handled
        # Agents' legs whose hang-up freed the agent on its arrival (``sink``), until the
        # batch that handles the hang-up writes what the agent's leaving changed.
        self._left_early: dict[str, Any] = {}
        # Realtime pushes of decisions taken outside a batch: published with the next one.
        self._later: list[Callable[[AsyncSession], None]] = []

    def _set_agent(self, agent: roster.Agent) -> None:
        old = self.agents.get(agent.id)
        if old is not None:
            agent.call_ref, agent.ringing_leg, agent.acw_until, agent.ending_legs = (
                old.call_ref,
                old.ringing_leg,
                old.acw_until,
                old.ending_legs,
            )
        self.agents[agent.id] = agent
        self.acd.set_agent(agent.id, queue_ids=agent.queue_ids, skills=agent.skills)

    def submit(self, item: Item) -> None:
        self.items.put_nowait((time.perf_counter(), item))

    async def sink(self, event: PbxEvent) -> None:
        """A PBX event: queued for a batch. An agent's hang-up of a connected call may first
        free the agent and ring their next caller at once (``_free_on_arrival``)."""
        arrived = time.perf_counter()
        if isinstance(event, HungUp):
            self._free_on_arrival(event, arrived)
        self.items.put_nowait((arrived, event))

    def _free_on_arrival(self, ev: HungUp, arrived: float) -> None:
        """Defined in ``controller.py``."""

    def pending(self) -> list[tuple[float, Item]]:
        """Events received and not handled yet, and those of the batch being handled."""
        queued = getattr(self.items, "_queue", ())  # asyncio.Queue keeps them in a deque
        return [*self._running, *self.backlog, *queued]

    def stop(self) -> None:
        self._stopped.set()

    def _cmd(
        self,
        key: str,
        fn: Callable[[], Awaitable[None]],
        on_fail: Callable[[CommandFailed], Item | None] | None = None,
        *,
        now: bool = False,
    ) -> None:
        """A PBX command, sent after the batch's commit; ``now``: at once.

        Ringing an agent's phone goes out at once (the service level is counted in seconds,
        and a batch that also opens new calls takes tens of milliseconds). It is safe before
        the commit: a ring changes nothing the customer or the records see, and a leg this
        controller no longer knows (the batch failed, the process restarted) is hung up when
        answered."""
        if now:
            asyncio.get_running_loop().call_soon(self._send_now, key, fn, on_fail)
        else:
            self._cmds.append((key, fn, on_fail))

    def _send_now(
        self,
        key: str,
        fn: Callable[[], Awaitable[None]],
        on_fail: Callable[[CommandFailed], Item | None] | None,
    ) -> None:
        previous = self._tails.get(key)
        self._tails[key] = asyncio.create_task(self._run_group(key, [(fn, on_fail)], previous))

    async def _send(
        self,
        cmds: list[
            tuple[str, Callable[[], Awaitable[None]], Callable[[CommandFailed], Item | None] | None]
        ],
    ) -> None:
        """Start sending a committed batch's commands and return: the next batch need not
        wait for the PBX. Commands of one call (one key) run in order, also across batches
        (each group waits for the key's previous group); different calls' run side by side."""
        groups: dict[str, list[Any]] = {}
        for key, fn, on_fail in cmds:
            groups.setdefault(key, []).append((fn, on_fail))
        for key, items in groups.items():
            previous = self._tails.get(key)
            task = asyncio.create_task(self._run_group(key, items, previous))
            self._tails[key] = task

    async def _run_group(
        self, key: str, items: list[Any], previous: asyncio.Task[None] | None
    ) -> None:
        try:
            if previous is not None and not previous.done():
                await asyncio.wait([previous])
            for fn, on_fail in items:
                try:
                    await fn()
                except CommandFailed as exc:
                    log.warning("voice inbox %s: %s", self.inbox_id, exc)
                    follow = on_fail(exc) if on_fail else None
                    if follow is not None:
                        self.submit(follow)
                except Exception:
                    log.exception("voice inbox %s: a command for %s failed", self.inbox_id, key)
        finally:
            if self._tails.get(key) is asyncio.current_task():
                del self._tails[key]

    def cancel_commands(self) -> None:
        for task in self._tails.values():
            task.cancel()
        self._tails.clear()

    async def drain(self) -> None:
        """Wait until every command sent so far is done (tests, shutdown)."""
        while self._tails:
            await asyncio.wait(list(self._tails.values()))

    def ts(self, at: datetime) -> float:
        return at.timestamp()

    async def _records(self, session: AsyncSession, live: Live) -> tuple[VoiceCall, Conversation]:
        """The call's row and its conversation: from the session when it holds them, else in
        one joined query."""
        call = session.identity_map.get(identity_key(VoiceCall, live.call_id))
        conv = session.identity_map.get(identity_key(Conversation, live.conv_id))
        if not isinstance(call, VoiceCall) or not isinstance(conv, Conversation):
            row = (
                await session.execute(
                    select(VoiceCall, Conversation)
                    .join(Conversation, Conversation.id == VoiceCall.conversation_id)
                    .where(VoiceCall.id == live.call_id)
                )
            ).one()
            call, conv = row[0], row[1]
        assert call.conversation_id == live.conv_id
        return call, conv

    def _leg_ending(self, leg: Leg) -> None:
        """We hang up this agent's leg: until the PBX reports its end the phone may still
        hold it, so the agent is offered no call meanwhile (never two calls at once)."""
        agent = self.agents.get(leg.agent_id or 0)
        if agent is not None:
            agent.ending_legs.add(leg.leg)
            self.ending[leg.leg] = (agent.id, self.clock())

    def _unplayed(self, ref: str, prompt_id: str) -> Callable[[CommandFailed], Item | None]:
        """A prompt the PBX did not play: the call goes on as if it had ended (to the music,
        the digits or the hang-up that follows), else it would wait for it for ever."""

        def on_fail(exc: CommandFailed) -> Item | None:
            if exc.gone:
                return HungUp(ref, datetime.now(UTC), None, "pbx")
            return PromptDone(ref, prompt_id, datetime.now(UTC))

        return on_fail

    def _gone(self, ref: str) -> Callable[[CommandFailed], Item | None]:
        def on_fail(exc: CommandFailed) -> Item | None:
            return HungUp(ref, datetime.now(UTC), None, "pbx") if exc.gone else None

        return on_fail

    def _ring_timeout(self, queue_id: int | None) -> float:
        spec = self.queue_specs.get(queue_id or 0)
        return float(spec.ring_timeout_s) if spec is not None else 20.0

    def _ring_failed(self, leg: str) -> Callable[[CommandFailed], Item | None]:
        def on_fail(exc: CommandFailed) -> Item | None:
            if exc.status is None:
                # No answer from the PBX (unreachable, a timeout, our own requests backed
                # up): the leg may exist all the same, and it is not the agent's doing.
                self._unsure_rings.add(leg)
                return LegFailed(leg, "failed", datetime.now(UTC))
            return LegFailed(leg, "unavailable", datetime.now(UTC))

        return on_fail

    async def _hang_up_unsure(self, leg: str) -> None:
        """Hang up a leg whose ring got no answer; once the PBX has answered the hang-up
        (done, or no such leg), the leg is surely over: say so, freeing its agent."""
        await self.pbx.hangup(leg)
        self.submit(HungUp(leg, datetime.now(UTC), None, "system"))

    def _availability(self, agent: roster.Agent, now: float) -> list[Any]:
        if agent.ringing_leg is not None and agent.status == Presence.online.value:
            return []  # reserved for the call ringing it: the ring's end decides
        if agent.free(now):
            return self.acd.agent_available(agent.id, now, load=agent.chats)
        return self.acd.agent_unavailable(agent.id, now)

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
        await do_set_presence(
            session, self.workspace_id, agent.id, status.value, queue_ids=agent.queue_ids
        )

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
        """The queue figures changed: pushed once, when the batch is done."""
        self._queues_changed = True

    def _flush_queues(self, session: AsyncSession) -> None:
        if self._queues_changed:
            self._queues_changed = False
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

    # Defined further down the chain (controller.py, answering.py); declared for the type checker.
    def _say(self, live: Live, what: list[Prompt], *, then: str | None) -> None:
        raise NotImplementedError

    async def _apply_step(
        self, session: AsyncSession, live: Live, call: VoiceCall, conv: Conversation, step: Step
    ) -> None:
        raise NotImplementedError

    async def _end(
        self,
        session: AsyncSession,
        live: Live,
        at: datetime,
        reason: str | None,
        side: str | None,
        cause: int | None,
    ) -> None:
        raise NotImplementedError
