"""The demo's phone line: what ``omniline demo`` seeds for the Hotline, and its menu heard
through the ARI simulator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
from sqlalchemy import func, select

from omniline import db
from omniline.bots import service as bots
from omniline.bots.models import BotFlow, BotFlowVersion
from omniline.channels.voice import link
from omniline.channels.voice.config import VoiceSettings
from omniline.channels.voice.models import VoiceAgent, VoiceQueue
from omniline.channels.voice.simulator import RunningSimulator, run_simulator
from omniline.demo import phone
from omniline.demo.seed import seed
from omniline.inboxes.models import Inbox
from omniline.workspaces.models import Queue
from tests.channels.voice.support import call_where, callbacks, eventually
from tests.conftest import Demo


async def hotline() -> Inbox | None:
    async with db.sessionmaker()() as session:
        found: Inbox | None = await session.scalar(select(Inbox).where(Inbox.key == phone.KEY))
        return found


async def test_the_seed_with_the_phone_line(engine: None) -> None:
    async with db.unit_of_work() as session:
        assert await seed(session, with_bot=True, with_phone=True, ari_url="http://127.0.0.1:8088")
    inbox = await hotline()
    assert inbox is not None and inbox.channel == "voice" and inbox.name == "Hotline"
    s = VoiceSettings.of(inbox.settings)
    assert (s.provider, s.language, s.short_abandon_s, s.acw_s) == ("ari", "uk", 5.0, 15.0)
    assert inbox.settings["ari_url"] == "http://127.0.0.1:8088"
    assert inbox.settings["ari_password"] == phone.SIM_PASSWORD
    async with db.sessionmaker()() as session:
        phones = {a.endpoint for a in await session.scalars(select(VoiceAgent))}
        assert phones == {"PJSIP/1001", "PJSIP/1002"}
        first = await session.scalar(select(Queue).where(Queue.name == "First line"))
        assert first is not None and inbox.default_queue_id == first.id
        assert await session.get(VoiceQueue, first.id) is not None
        flow = await session.get(BotFlow, inbox.bot_flow_id)
        assert flow is not None and flow.key == phone.FLOW_KEY
        version = await session.get(BotFlowVersion, flow.published_version_id)
        assert version is not None
        graph = bots.parse(version.graph)
        assert await bots.check(session, inbox.workspace_id, graph, flow.key) == []
        assert set(graph.languages) == {"uk", "ru", "en"}
    # Another run of the demo with the simulator elsewhere: the same line, pointed there.
    async with db.unit_of_work() as session:
        await phone.ensure(session, "http://127.0.0.1:9099")
    async with db.sessionmaker()() as session:
        count = await session.scalar(select(func.count()).select_from(Inbox).where(
            Inbox.channel == "voice"))  # fmt: skip
    moved = await hotline()
    assert count == 1 and moved is not None and moved.settings["ari_url"] == "http://127.0.0.1:9099"


async def test_the_tests_demo_has_no_phone_line(demo: Demo) -> None:
    assert await hotline() is None


@pytest.fixture
async def sim(demo: Demo, client: httpx.AsyncClient) -> AsyncIterator[RunningSimulator]:
    options: dict[str, Any] = {
        "user": phone.SIM_USER,
        "password": phone.SIM_PASSWORD,
        "app": phone.SIM_APP,
    }
    async with run_simulator(speed=4.0, language="uk", **options) as running:
        async with db.unit_of_work() as session:
            inbox = await phone.ensure(session, running.base_url)
            assert inbox is not None
            inbox_id = inbox.id
        await link.start(inbox_id)
        try:
            yield running
        finally:
            await link.stop_all()


async def test_the_hotline_menu_in_ukrainian(sim: RunningSimulator) -> None:
    """Nobody online: 0 queues the caller; 2 books a callback and says goodbye."""
    async with httpx.AsyncClient(base_url=sim.base_url, auth=sim.auth) as http:
        r = await http.post("/_sim/calls", json={
            "caller": "+380671112233", "dialled": phone.DIALLED,
            "script": [{"wait_playbacks": 1}, {"press": "0"}]})  # fmt: skip
        operator = str(r.json()["id"])
        await eventually(lambda: call_where(operator, state="queued"), what="queued")
        r = await http.post("/_sim/calls", json={
            "caller": "+380501234567", "dialled": phone.DIALLED,
            "script": [{"wait_playbacks": 1}, {"press": "2"}]})  # fmt: skip
        caller = str(r.json()["id"])
        ended = await eventually(lambda: call_where(caller, state="ended"), what="the goodbye")
        assert ended.end_reason == "callback" and ended.language == "uk"
        (cb,) = await callbacks()
        assert cb.number == "+380501234567" and cb.reason == "menu"
        state = await eventually(lambda: _hung_up(http, caller), what="the hang-up")
    heard = " | ".join(
        unquote(e["uri"])
        for ch in state["channels"] + state["history"]
        if ch["id"] == caller
        for e in ch["log"]
        if e.get("what") == "play"
    )
    assert "Вітаємо у MicroLend." in heard
    assert "Ваша позика і наступний платіж — натисніть 1." in heard
    assert "Зворотний дзвінок — натисніть 2." in heard
    assert "Щоб поговорити з оператором, натисніть 0." in heard
    assert "Гаразд. | " in heard and "Ми передзвонимо вам" in heard


async def _hung_up(http: httpx.AsyncClient, channel: str) -> dict[str, Any] | None:
    state: dict[str, Any] = (await http.get("/_sim/state")).json()
    return state if any(ch["id"] == channel for ch in state["history"]) else None
