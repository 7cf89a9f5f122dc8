"""An agent's phone against the controller, event by event, with a PBX that only records the
commands: a leg's end frees its agent for the next caller at once, and an agent never holds
two calls, even when the ACD's own clock gives up on a ring whose answer is on its way."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

from omniline import db
from omniline.channels.voice.contract import (
    CallOffered,
    HungUp,
    LegAnswered,
    Prompt,
    RingSpec,
)
from omniline.channels.voice.controller import AgentChanged, Controller
from omniline.channels.voice.core import Item
from omniline.channels.voice.models import VoiceAgent, VoiceQueue
from omniline.inboxes import service as inboxes
from omniline.presence.service import do_set_presence
from tests.conftest import Demo

AT = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)
PHONES = {"agent": "PJSIP/1001", "agent2": "PJSIP/1002"}


@dataclass
class Recorder:
    """A PBX that accepts every command and reports nothing: the test says what happened."""

    commands: list[tuple[str, Any]] = field(default_factory=list)

    async def answer(self, ref: str) -> None:
        self.commands.append(("answer", ref))

    async def play(self, ref: str, prompts: list[Prompt], language: str, prompt_id: str) -> None:
        self.commands.append(("play", ref))

    async def stop_prompt(self, prompt_id: str) -> None:
        self.commands.append(("stop", prompt_id))

    async def music(self, ref: str, on: bool) -> None:
        self.commands.append(("music", (ref, on)))

    async def ring(self, spec: RingSpec) -> None:
        self.commands.append(("ring", spec))

    async def connect(self, ref: str, leg: str) -> None:
        self.commands.append(("connect", (ref, leg)))

    async def hold(self, ref: str, on: bool) -> None:
        self.commands.append(("hold", (ref, on)))

    async def transfer(self, ref: str, number: str) -> None:
        self.commands.append(("transfer", (ref, number)))

    async def hangup(self, ref: str, reason: str = "normal") -> None:
        self.commands.append(("hangup", ref))

    async def record(self, ref: str, name: str) -> None:
        self.commands.append(("record", ref))

    async def refs(self) -> set[str]:
        return set()

    def rings(self) -> list[RingSpec]:
        return [spec for name, spec in self.commands if name == "ring"]


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


async def line(demo: Demo, *, online: tuple[str, ...]) -> tuple[Controller, Recorder, Clock]:
    """A phone line whose controller is driven by hand: no menu, no after-call work."""
    async with db.unit_of_work() as session:
        inbox = await inboxes.do_create_inbox(
            session,
            demo.workspace_id,
            channel="voice",
            name="Hotline",
            key="hotline",
            default_queue_id=demo.queues["First line"],
            settings={
                "provider": "ari",
                "ari_url": "http://127.0.0.1:9",
                "region": "UA",
                "language": "en",
                "acw_s": 0,
                "csat": False,
                "callback_on_abandon": False,
            },
        )
        for name, endpoint in PHONES.items():
            session.add(
                VoiceAgent(
                    user_id=demo.users[name], workspace_id=demo.workspace_id, endpoint=endpoint
                )
            )
        session.add(
            VoiceQueue(
                queue_id=demo.queues["First line"],
                workspace_id=demo.workspace_id,
                announce_every_s=None,
                ring_timeout_s=10,
            )
        )
        for name in online:
            await do_set_presence(session, demo.workspace_id, demo.users[name], "online")
        inbox_id = inbox.id
    pbx, clock = Recorder(), Clock()
    controller = Controller(inbox_id, pbx, clock=clock)
    await controller.start()
    return controller, pbx, clock


async def feed(controller: Controller, *items: Item) -> None:
    await controller.process([(time.perf_counter(), item) for item in items])
    for _ in range(5):
        await asyncio.sleep(0)
    await controller.drain()


def offered(ref: str, caller: str) -> CallOffered:
    return CallOffered(ref=ref, caller=caller, dialled="+380443334455", at=AT)


def endpoint_rung(pbx: Recorder, endpoint: str) -> list[RingSpec]:
    return [r for r in pbx.rings() if r.endpoint == endpoint]


async def test_a_ring_whose_end_comes_as_a_hang_up_rings_the_next_agent_at_once(
    demo: Demo,
) -> None:
    """The PBX reports the end of an agent's unanswered ring as a hang-up (a provider that
    lost the leg's answer, a PBX restarted meanwhile): the agent had no call, and the call
    must go to the next free agent now, not after the ACD's own ring timeout."""
    controller, pbx, _clock = await line(demo, online=("agent", "agent2"))
    await feed(controller, offered("call-1", "+380501110001"))
    (first,) = pbx.rings()
    await feed(controller, HungUp(first.leg, AT, 21, None))
    rings = pbx.rings()
    assert len(rings) == 2, "the call waits for the ACD's ring timeout instead"
    assert rings[1].endpoint != first.endpoint and rings[1].caller_id == "+380501110001"


async def test_an_agent_rings_for_no_call_while_a_leg_we_hung_up_may_still_hold_the_phone(
    demo: Demo,
) -> None:
    """Overloaded, the ACD's clock ends a ring (10 s + 5 s of grace) while the agent's answer
    waits in line to be handled. The leg is hung up, and the agent is rung again only once
    the PBX reports that leg's end: before, the same phone got a second call at once."""
    controller, pbx, clock = await line(demo, online=("agent",))
    phone = PHONES["agent"]
    await feed(controller, offered("call-1", "+380501110001"), offered("call-2", "+380501110002"))
    (first,) = endpoint_rung(pbx, phone)
    clock.now += 16  # the ACD gives up on the ring; the answer has not been handled yet
    await feed(controller)
    assert ("hangup", first.leg) in pbx.commands
    assert len(endpoint_rung(pbx, phone)) == 1, "a second call rang a phone still holding a leg"
    # The answer arrives, late: the leg is no longer ours and is hung up again.
    await feed(controller, LegAnswered(first.leg, AT))
    assert len(endpoint_rung(pbx, phone)) == 1
    # The PBX reports the leg's end: the phone is free, the next caller rings it.
    await feed(controller, HungUp(first.leg, AT, 16, "system"))
    rings = endpoint_rung(pbx, phone)
    assert len(rings) == 2 and rings[1].leg != first.leg


async def test_a_caller_who_hangs_up_frees_the_agent_once_the_agents_leg_is_gone(
    demo: Demo,
) -> None:
    controller, pbx, _clock = await line(demo, online=("agent",))
    phone = PHONES["agent"]
    await feed(controller, offered("call-1", "+380501110001"))
    (leg,) = endpoint_rung(pbx, phone)
    await feed(controller, LegAnswered(leg.leg, AT), offered("call-2", "+380501110002"))
    assert ("connect", ("call-1", leg.leg)) in pbx.commands
    await feed(controller, HungUp("call-1", AT, 16, "customer"))
    assert ("hangup", leg.leg) in pbx.commands
    assert len(endpoint_rung(pbx, phone)) == 1  # the agent's leg is still up
    await feed(controller, HungUp(leg.leg, AT, 16, "system"))
    assert len(endpoint_rung(pbx, phone)) == 2


async def test_an_agent_who_hangs_up_rings_for_the_next_caller_in_the_same_batch(
    demo: Demo,
) -> None:
    controller, pbx, _clock = await line(demo, online=("agent",))
    phone = PHONES["agent"]
    await feed(controller, offered("call-1", "+380501110001"))
    (leg,) = endpoint_rung(pbx, phone)
    await feed(controller, LegAnswered(leg.leg, AT))
    # A new caller, then the agent's hang-up, in one batch: the agent's goes first.
    batch = [(1.0, offered("call-2", "+380501110002")), (2.0, HungUp(leg.leg, AT, 16, None))]
    assert [item for _, item in controller.leaving_first(batch)] == [batch[1][1], batch[0][1]]
    await feed(controller, *(item for _, item in batch))
    rings = endpoint_rung(pbx, phone)
    assert len(rings) == 2 and rings[1].caller_id == "+380501110002"


async def test_an_answer_and_a_hang_up_of_one_leg_in_a_batch_keep_their_order(
    demo: Demo,
) -> None:
    controller, pbx, _clock = await line(demo, online=("agent",))
    await feed(controller, offered("call-1", "+380501110001"))
    (leg,) = pbx.rings()
    batch = [(1.0, LegAnswered(leg.leg, AT)), (2.0, HungUp(leg.leg, AT, 16, None))]
    assert controller.leaving_first(batch) == batch


@pytest.mark.parametrize("status", ["online"])
async def test_our_own_presence_write_coming_back_is_not_read_again(
    demo: Demo, status: str
) -> None:
    controller, _pbx, _clock = await line(demo, online=("agent",))
    user = demo.users["agent"]
    assert controller.agents[user].status == status
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    from sqlalchemy import event

    engine = db.get_engine().sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        await feed(controller, AgentChanged(user, status))
        echo = len(statements)
        await feed(controller, AgentChanged(user, "away"))
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert echo < len(statements) - echo, "the echo read the agent again"
    assert controller.agents[user].status == "online"  # "away" read from the database: online
