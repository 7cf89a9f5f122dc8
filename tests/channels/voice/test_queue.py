"""The voice queue against the simulator: overflow, the service level counted exactly as
docs/metrics.md defines it, a restart of the controller in the middle of calls, and a PBX
that goes away and comes back."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select

from omniline import db
from omniline.channels.voice import link
from omniline.channels.voice.models import VoiceCall, VoiceLink
from omniline.channels.voice.simulator import run_simulator
from omniline.channels.voice.stats import figures
from omniline.presence.service import do_set_presence
from omniline.workspaces.service import do_set_queue_members
from tests.channels.voice.support import (
    AGENT2_PHONE,
    AGENT_PHONE,
    Line,
    call_where,
    event_types,
    eventually,
    open_line,
)
from tests.conftest import Demo, bearer, staff_token


async def presence(demo: Demo, who: str, status: str) -> None:
    async with db.unit_of_work() as session:
        await do_set_presence(session, demo.workspace_id, demo.users[who], status)


@pytest.fixture
async def sim() -> AsyncIterator[object]:
    async with run_simulator(speed=1.0, sound_s=0.05, password="sim-secret") as running:
        yield running
    await link.stop_all()


async def test_overflow_to_another_queue_after_n_seconds(demo: Demo, sim: object) -> None:
    second = demo.queues["Business assistants"]
    async with db.unit_of_work() as session:  # agent2 answers the second queue only
        await do_set_queue_members(
            session, demo.workspace_id, demo.queues["First line"], [demo.users["agent"]]
        )
    line = await open_line(
        demo,
        sim,  # type: ignore[arg-type]
        queue={"overflow_after_s": 3, "overflow_to_queue_id": second},
        online=(),
    )
    await line.phone(AGENT2_PHONE, answer_after_s=0.1)
    ch = await line.call()
    queued = await eventually(lambda: call_where(ch, state="queued"), what="queued")
    assert queued.queue_id == demo.queues["First line"]
    await presence(demo, "agent2", "online")  # free, but not in the first queue
    await asyncio.sleep(0.5)
    # Not yet: 3 s have not passed (room for a loaded test machine between queueing and here).
    assert (await call_where(ch, state="queued")) is not None
    talking = await eventually(lambda: call_where(ch, state="talking"), what="overflowed")
    assert talking.queue_id == second and talking.agent_id == demo.users["agent2"]
    assert "call_overflow" in await event_types(talking.conversation_id)
    await line.http.aclose()


async def test_overflow_to_the_banks_internal_centre(demo: Demo, sim: object) -> None:
    line = await open_line(
        demo,
        sim,  # type: ignore[arg-type]
        queue={"overflow_after_s": 1, "overflow_to_number": "+380442000000"},
        online=(),
    )
    ch = await line.call()
    ended = await eventually(lambda: call_where(ch, state="ended"), what="sent away")
    assert ended.end_reason == "overflow" and ended.answered_at is None
    redirect = await eventually(lambda: _redirected(line, ch), what="the PBX redirect")
    assert redirect["endpoint"] == "PJSIP/+380442000000@trunk"
    await line.http.aclose()


async def test_service_level_counts_exactly(
    client: httpx.AsyncClient, demo: Demo, sim: object
) -> None:
    """Threshold 3 s, short abandon 1 s: one call answered at once (in time), one answered
    after about 5 s (late), one abandoned after about 2 s, one short abandon. (Seconds wide
    enough for a loaded machine: each wait is at least a second from its limit.)"""
    # No callbacks here: the one for the caller who gave up would be served before "quick".
    line = await open_line(
        demo, sim, online=(), settings={"callback_on_abandon": False, "short_abandon_s": 1.0}
    )  # type: ignore[arg-type]
    await line.phone(AGENT_PHONE, answer_after_s=0.05)
    start = datetime.now(UTC) - timedelta(seconds=1)
    late = await line.call()
    await eventually(lambda: call_where(late, state="queued"), what="queued")
    gave_up = await line.call(caller="+380501111111")
    short = await line.call(caller="+380502222222")
    await eventually(lambda: call_where(short, state="queued"), what="queued")
    await line.hangup(short)
    await asyncio.sleep(2.0)
    await eventually(lambda: call_where(gave_up, state="queued"), what="queued")
    await line.hangup(gave_up)
    await asyncio.sleep(2.5)
    await presence(demo, "agent", "online")
    await eventually(lambda: call_where(late, state="talking"), what="the late answer")
    await line.phone_action(AGENT_PHONE, "hangup")
    await line.hangup(late)
    await eventually(lambda: call_where(late, state="ended"), what="ended")
    await asyncio.sleep(0.5)  # after-call work (0.2 s) is over: the agent is free again
    quick = await line.call(caller="+380503333333")
    await eventually(lambda: call_where(quick, state="talking"), what="the quick answer")
    calls = {ref: await call_where(ref) for ref in (late, gave_up, short, quick)}
    waits = {
        ref: ((c.answered_at or c.ended_at) - c.queued_at).total_seconds()  # type: ignore[operator, union-attr]
        for ref, c in calls.items()
    }
    assert waits[quick] < 3.0 < waits[late] and waits[gave_up] > 1.0 and waits[short] < 1.0
    async with db.sessionmaker()() as session:
        got = await figures(
            session,
            demo.workspace_id,
            start,
            datetime.now(UTC) + timedelta(seconds=1),
            short_s=1.0,
            threshold_s=3.0,
        )
    assert got["offered"] == 4 and got["answered"] == 2 and got["abandoned"] == 2
    assert got["short_abandoned"] == 1
    # In time: the quick one; out of: 2 answered + 2 abandoned - 1 short = 3.
    assert got["service_level"] == round(1 / 3, 4)
    assert got["asa_s"] == round((waits[quick] + waits[late]) / 2, 1)
    assert got["abandon_rate"] == round(1 / 3, 4)  # (2 - 1) / (4 - 1)
    # The API gives the same figures to a supervisor.
    h = bearer(await staff_token(client, "supervisor@demo.omniline", "demo-supervisor"))
    r = await client.get(
        "/api/v1/voice/stats",
        params={
            "since": start.isoformat(),
            "until": (datetime.now(UTC) + timedelta(seconds=1)).isoformat(),
            "short_abandon_s": 0.3,
            "threshold_s": 1.0,
        },
        headers=h,
    )
    assert r.status_code == 200 and r.json()["service_level"] == got["service_level"]
    agent = bearer(await staff_token(client, "agent@demo.omniline", "demo-agent"))
    assert (
        await client.get("/api/v1/voice/stats", params=r.request.url.params, headers=agent)
    ).status_code == 403
    await line.http.aclose()


async def test_a_restart_in_the_middle_of_calls_loses_none(demo: Demo, sim: object) -> None:
    line = await open_line(demo, sim, online=())  # type: ignore[arg-type]
    await line.phone(AGENT_PHONE, answer_after_s=0.05)
    await line.phone(AGENT2_PHONE, answer_after_s=0.05)
    await presence(demo, "agent2", "online")
    talking = await line.call()
    await eventually(lambda: call_where(talking, state="talking"), what="the first answered")
    await eventually(lambda: line.bridged(talking), what="bridged")
    waiting = await line.call(caller="+380501111111")
    await eventually(lambda: call_where(waiting, state="queued"), what="the second queued")
    await link.stop(line.inbox_id)  # the server goes down with two calls in flight
    await asyncio.sleep(0.2)
    await link.start(line.inbox_id)
    await presence(demo, "agent", "online")
    answered = await eventually(lambda: call_where(waiting, state="talking"), what="answered")
    assert answered.agent_id == demo.users["agent"]
    await line.hangup(talking)  # the first caller hangs up after the restart
    ended = await eventually(lambda: call_where(talking, state="ended"), what="ended")
    assert ended.end_reason == "answered" and ended.answered_at is not None
    assert ended.agent_id == demo.users["agent2"]
    await line.http.aclose()


async def test_a_pbx_outage_is_seen_and_its_calls_stay_counted(demo: Demo, sim: object) -> None:
    line = await open_line(demo, sim, online=())  # type: ignore[arg-type]
    ch = await line.call()
    await eventually(lambda: call_where(ch, state="queued"), what="queued")
    await line.http.post("/_sim/outage", json={"down": True})
    down = await eventually(lambda: _link_up(line.inbox_id, False), what="the link seen down")
    assert down.last_error
    await line.http.post("/_sim/outage", json={"down": False})
    await eventually(lambda: _link_up(line.inbox_id, True), timeout=15, what="the link back")
    lost = await eventually(lambda: call_where(ch, state="ended"), what="the lost call closed")
    assert lost.end_reason == "lost" and lost.hangup_side == "pbx"
    assert lost.queued_at is not None  # it stays an offered call of the day
    await line.http.aclose()


async def _redirected(line: Line, channel: str) -> dict[str, object] | None:
    state = await line.state()
    for ch in state["channels"] + state["history"]:
        if ch["id"] == channel:
            return next((e for e in ch["log"] if e.get("what") == "redirect"), None)
    return None


async def _link_up(inbox_id: int, up: bool) -> VoiceLink | None:
    async with db.sessionmaker()() as session:
        row = await session.scalar(select(VoiceLink).where(VoiceLink.inbox_id == inbox_id))
    return row if row is not None and row.up is up else None


__all__ = ["Line", "VoiceCall"]


async def test_a_call_that_arrived_while_nobody_listened_is_taken_on(
    demo: Demo, sim: object
) -> None:
    """The PBX held a call in our application while the server was down (another process
    heard its arrival and died before writing it): the next controller finds it there."""
    import websockets

    line = await open_line(demo, sim, online=())  # type: ignore[arg-type]
    await link.stop(line.inbox_id)
    running = line.sim
    url = f"{running.events_url}?app={running.app}&api_key={running.user}:{running.password}"
    async with websockets.connect(url) as stand_in:  # someone else holds the app meanwhile
        ch = await line.call()
        assert "StasisStart" in str(await stand_in.recv())
    assert await call_where(ch) is None
    await link.start(line.inbox_id)
    await line.phone(AGENT_PHONE, answer_after_s=0.05)
    await presence(demo, "agent", "online")
    taken = await eventually(lambda: call_where(ch, state="talking"), what="the held call answered")
    assert taken.agent_id == demo.users["agent"] and taken.caller == "+380501234567"
    await line.http.aclose()


async def test_ring_all_rings_every_free_agent_and_the_first_to_answer_takes_it(
    demo: Demo, sim: object
) -> None:
    line = await open_line(demo, sim, queue={"strategy": "ring_all"}, online=("agent", "agent2"))  # type: ignore[arg-type]
    await line.phone(AGENT_PHONE, answer_after_s=1.0)
    await line.phone(AGENT2_PHONE, answer_after_s=0.1)
    ch = await line.call()
    talking = await eventually(lambda: call_where(ch, state="talking"), what="answered")
    assert talking.agent_id == demo.users["agent2"]
    state = await eventually(lambda: _rang_both(line), what="both phones rung")
    # The slower phone stopped ringing once the other answered, and was never connected.
    agent_legs = [c for c in state if c["endpoint"] == AGENT_PHONE]
    assert agent_legs and all(not c.get("bridge") for c in agent_legs)
    await line.http.aclose()


async def _rang_both(line: Line) -> list[dict[str, object]] | None:
    state = await line.state()
    legs = [c for c in state["channels"] + state["history"] if c.get("role") == "phone"]
    endpoints = {c["endpoint"] for c in legs}
    return legs if {AGENT_PHONE, AGENT2_PHONE} <= endpoints else None


async def test_the_maximum_wait_ends_in_a_callback(demo: Demo, sim: object) -> None:
    line = await open_line(demo, sim, queue={"max_wait_s": 1}, online=())  # type: ignore[arg-type]
    ch = await line.call()
    ended = await eventually(lambda: call_where(ch, state="ended"), what="the maximum wait")
    assert ended.end_reason == "expired" and ended.answered_at is None
    from tests.channels.voice.support import callbacks

    (cb,) = await eventually(callbacks, what="the callback")
    assert cb.reason == "expired" and cb.place_at == ended.queued_at
    await line.http.aclose()


async def test_a_menu_can_ask_for_an_agent_with_a_skill(
    client: httpx.AsyncClient, demo: Demo, sim: object
) -> None:
    from tests.bots.support import admin, publish

    line = await open_line(demo, sim, online=("agent", "agent2"))  # type: ignore[arg-type]
    async with db.unit_of_work() as session:
        from omniline.channels.voice.models import VoiceAgent

        phone = await session.get(VoiceAgent, demo.users["agent"])
        assert phone is not None
        phone.skills = ["UK"]
    await presence(demo, "agent", "away")  # reload the roster: skills are read with presence
    await presence(demo, "agent", "online")
    flow = {
        "languages": ["en"],
        "fallback_language": "en",
        "start": "s",
        "nodes": [
            {
                "id": "s",
                "type": "set",
                "target": "variable",
                "name": "skills",
                "value": "uk",
                "next": "h",
            },
            {"id": "h", "type": "handoff"},
        ],
    }
    await publish(client, await admin(client), flow, inbox_id=line.inbox_id, secret=None)
    await line.phone(AGENT_PHONE, answer_after_s=0.1)
    await line.phone(AGENT2_PHONE, answer_after_s=0.1)
    ch = await line.call()
    talking = await eventually(lambda: call_where(ch, state="talking"), what="answered")
    assert talking.agent_id == demo.users["agent"]  # agent2 was free too, but has no "uk"
    await line.http.aclose()
