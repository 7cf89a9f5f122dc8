"""A call leaves the agent's state history behind it (presence/history.py): on a call,
wrap-up, then available again."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from omniline import db
from omniline.channels.voice.simulator import run_simulator
from omniline.presence import history
from omniline.presence.models import PresenceInterval
from tests.channels.voice.support import AGENT_PHONE, Line, call_where, eventually, open_line
from tests.conftest import Demo


@pytest.fixture
async def line(demo: Demo) -> AsyncIterator[Line]:
    from omniline.channels.voice import link

    history.register()
    async with run_simulator(speed=1.0, sound_s=0.05, password="sim-secret") as sim:
        # No rating question: the call ends when the agent hangs up.
        running = await open_line(demo, sim, settings={"csat": False})
        try:
            yield running
        finally:
            await link.stop_all()
            await running.http.aclose()


async def _states(user_id: int) -> list[tuple[str, bool]] | None:
    async with db.sessionmaker()() as session:
        rows = await session.scalars(
            select(PresenceInterval)
            .where(PresenceInterval.user_id == user_id)
            .order_by(PresenceInterval.started_at, PresenceInterval.id)
        )
        got = [(r.status, r.handling) for r in rows]
    # Done when the agent is back from wrap-up (0.2 s of after-call work).
    return got if len(got) > 1 and got[-1] == ("online", False) else None


async def test_a_call_is_on_call_then_wrap_up(line: Line, demo: Demo) -> None:
    agent = demo.users["agent"]
    await line.phone(AGENT_PHONE, answer_after_s=0.1)
    ch = await line.call()
    await eventually(lambda: call_where(ch, state="talking"), what="answered")
    await line.phone_action(AGENT_PHONE, "hangup")
    await eventually(lambda: call_where(ch, state="ended"), what="ended")
    got = await eventually(lambda: _states(agent), what="back from wrap-up")
    # Calls count by the phone's states, not by the call's conversation (which stays
    # assigned while the caller hears the goodbye): no handling flag for calls.
    assert got == [("online", False), ("on_call", False), ("wrap_up", False), ("online", False)]
