"""An agent who hangs up is free for the next caller as the hang-up arrives, not when the
batch of events in progress (and those queued ahead) is done; the batch that handles the
hang-up then writes the call's records as before."""

from __future__ import annotations

import asyncio
import time

from sqlalchemy import select

from omniline import db
from omniline.channels.voice.contract import Held, HungUp, LegAnswered
from omniline.channels.voice.controller import Controller
from omniline.channels.voice.models import VoiceCall
from omniline.presence.models import AgentState
from tests.channels.voice.support import event_types
from tests.channels.voice.test_agent_legs import (
    AT,
    PHONES,
    Recorder,
    endpoint_rung,
    feed,
    line,
    offered,
)
from tests.conftest import Demo


async def talking(demo: Demo) -> tuple[Controller, Recorder, str]:
    """One agent online talking on call-1, call-2 waiting for them."""
    controller, pbx, _clock = await line(demo, online=("agent",))
    await feed(controller, offered("call-1", "+380501110001"))
    (leg,) = endpoint_rung(pbx, PHONES["agent"])
    await feed(controller, LegAnswered(leg.leg, AT), offered("call-2", "+380501110002"))
    assert len(endpoint_rung(pbx, PHONES["agent"])) == 1
    return controller, pbx, leg.leg


async def handle_received(controller: Controller) -> None:
    """The events the PBX sent, handled as the controller's loop does."""
    batch = []
    while not controller.items.empty():
        batch.append(controller.items.get_nowait())
    await controller.process(batch)
    await controller.drain()


async def record(ref: str) -> VoiceCall:
    async with db.sessionmaker()() as session:
        call = await session.scalar(select(VoiceCall).where(VoiceCall.ref == ref))
        assert call is not None
        return call


async def presence(user_id: int) -> str:
    async with db.sessionmaker()() as session:
        state = await session.get(AgentState, user_id)
        assert state is not None
        return state.status


async def test_a_hang_up_arriving_during_a_batch_rings_the_next_caller_before_it_ends(
    demo: Demo,
) -> None:
    controller, pbx, first_leg = await talking(demo)
    user = demo.users["agent"]
    # A batch is being handled (a new caller's call opening) when the agent hangs up.
    running = asyncio.create_task(
        controller.process([(time.perf_counter(), offered("call-3", "+380501110003"))])
    )
    await asyncio.sleep(0)
    await controller.sink(HungUp(first_leg, AT, 16, "agent"))
    assert not running.done()
    ringing = controller.agents[user].ringing_leg
    assert ringing is not None and controller.legs[ringing].ref == "call-2", (
        "the next caller waits for the batch in progress"
    )
    await running
    await controller.drain()
    rings = endpoint_rung(pbx, PHONES["agent"])
    assert [r.caller_id for r in rings] == ["+380501110001", "+380501110002"]

    # The hang-up's own batch writes the records and rings nobody a second time.
    await handle_received(controller)
    assert len(endpoint_rung(pbx, PHONES["agent"])) == 2
    call_1 = await record("call-1")
    assert call_1.agent_id == user and "talk_end" in (call_1.ivr or {})
    assert "call_agent_left" in await event_types(call_1.conversation_id)
    assert await presence(user) == "online"

    # The agent takes call-2; call-3 waits for them.
    await feed(controller, LegAnswered(rings[1].leg, AT))
    call_2 = await record("call-2")
    assert call_2.state == "talking" and call_2.agent_id == user
    assert await presence(user) == "on_call"
    assert (await record("call-3")).state == "queued"


async def test_a_hang_up_waits_its_turn_when_the_batch_in_progress_concerns_its_call(
    demo: Demo,
) -> None:
    controller, pbx, first_leg = await talking(demo)
    user = demo.users["agent"]
    running = asyncio.create_task(
        controller.process([(time.perf_counter(), Held("call-1", True, AT))])
    )
    await asyncio.sleep(0)
    await controller.sink(HungUp(first_leg, AT, 16, "agent"))
    assert controller.agents[user].ringing_leg is None
    await running
    await handle_received(controller)
    rings = endpoint_rung(pbx, PHONES["agent"])
    assert [r.caller_id for r in rings] == ["+380501110001", "+380501110002"]
    call_1 = await record("call-1")
    assert "talk_end" in (call_1.ivr or {}) and call_1.hold_started_at is None
