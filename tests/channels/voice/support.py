"""A phone line wired to the ARI simulator, agents with phones, and waiting on the calls."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
from sqlalchemy import select

from omniline import db
from omniline.channels.voice import link
from omniline.channels.voice.controller import Controller
from omniline.channels.voice.models import VoiceAgent, VoiceCall, VoiceCallback, VoiceQueue
from omniline.channels.voice.simulator import RunningSimulator, run_simulator
from omniline.conversations.models import Conversation, ConversationEvent
from omniline.inboxes import service as inboxes
from omniline.presence.service import do_set_presence
from tests.conftest import Demo

T = TypeVar("T")
AGENT_PHONE, AGENT2_PHONE = "PJSIP/1001", "PJSIP/1002"
CALLER = "+380501234567"


@dataclass
class Line:
    sim: RunningSimulator
    http: httpx.AsyncClient  # the simulator's control API
    inbox_id: int
    controller: Controller
    demo: Demo

    async def call(self, caller: str = CALLER, **spec: Any) -> str:
        r = await self.http.post(
            "/_sim/calls", json={"caller": caller, "dialled": "+380443334455", **spec}
        )
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    async def press(self, channel: str, digits: str) -> None:
        r = await self.http.post(f"/_sim/calls/{channel}/press", json={"digits": digits})
        assert r.status_code < 300, r.text

    async def hangup(self, channel: str) -> None:
        r = await self.http.post(f"/_sim/calls/{channel}/hangup", json={})
        assert r.status_code < 300, r.text

    async def phone(self, endpoint: str, **behaviour: Any) -> None:
        r = await self.http.post("/_sim/phones", json={"endpoint": endpoint, **behaviour})
        assert r.status_code < 300, r.text

    async def phone_action(self, endpoint: str, action: str) -> None:
        r = await self.http.post(f"/_sim/phones/{endpoint}/{action}", json={})
        assert r.status_code < 300, r.text

    async def number(self, number: str, **behaviour: Any) -> None:
        r = await self.http.post("/_sim/numbers", json={"number": number, **behaviour})
        assert r.status_code < 300, r.text

    async def state(self) -> dict[str, Any]:
        r = await self.http.get("/_sim/state")
        return dict(r.json())

    async def bridged(self, channel: str) -> bool:
        """The channel talks to another party (a bridge holds both)."""
        state = await self.state()
        return any(channel in b["channels"] and len(b["channels"]) > 1 for b in state["bridges"])

    async def played(self, channel: str) -> list[str]:
        """Media played to a channel, in order (speech URLs carry the text)."""
        state = await self.state()
        for ch in state["channels"] + state["history"]:
            if ch["id"] == channel:
                return [str(e["uri"]) for e in ch["log"] if e.get("what") == "play"]
        return []


async def eventually(
    probe: Callable[[], Awaitable[T | None]], *, timeout: float = 8.0, what: str = ""
) -> T:
    """The probe's first truthy answer, polled; fails after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        got = await probe()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or probe}")
        await asyncio.sleep(0.05)


async def call_of(ref: str) -> VoiceCall | None:
    async with db.sessionmaker()() as session:
        found: VoiceCall | None = await session.scalar(
            select(VoiceCall).where(VoiceCall.ref == ref)
        )
        return found


async def call_where(ref: str, **wanted: Any) -> VoiceCall | None:
    call = await call_of(ref)
    if call is None:
        return None
    return call if all(getattr(call, k) == v for k, v in wanted.items()) else None


async def callbacks() -> list[VoiceCallback]:
    async with db.sessionmaker()() as session:
        return list(await session.scalars(select(VoiceCallback).order_by(VoiceCallback.id)))


async def conversation(conv_id: int) -> Conversation:
    async with db.sessionmaker()() as session:
        conv = await session.get(Conversation, conv_id)
        assert conv is not None
        return conv


async def event_types(conv_id: int) -> list[str]:
    async with db.sessionmaker()() as session:
        rows = await session.scalars(
            select(ConversationEvent.type)
            .where(ConversationEvent.conversation_id == conv_id)
            .order_by(ConversationEvent.id)
        )
        return list(rows)


async def open_line(
    demo: Demo,
    sim: RunningSimulator,
    *,
    settings: dict[str, Any] | None = None,
    queue: dict[str, Any] | None = None,
    agents: dict[str, str] | None = None,
    online: tuple[str, ...] = ("agent",),
) -> Line:
    """A voice inbox on the simulator, agents' phones set, some agents online, and its
    controller running in this process."""
    agents = agents if agents is not None else {"agent": AGENT_PHONE, "agent2": AGENT2_PHONE}
    first = demo.queues["First line"]
    async with db.unit_of_work() as session:
        inbox = await inboxes.do_create_inbox(
            session,
            demo.workspace_id,
            channel="voice",
            name="Hotline",
            key="hotline",
            default_queue_id=first,
            settings={
                "provider": "ari",
                "ari_url": sim.base_url,
                "ari_user": sim.user,
                "ari_password": sim.password,
                "ari_app": sim.app,
                "tts_url": "http://tts.local/say?lang={lang}&text={text}",
                "region": "UA",
                "language": "en",
                "short_abandon_s": 0.3,
                "acw_s": 0.2,
                "csat": True,
                "digit_timeout_s": 3,
                "callback_hours": "00:00-23:59",
                "callback_spacing_s": 0.5,
                **(settings or {}),
            },
        )
        for name, endpoint in agents.items():
            session.add(
                VoiceAgent(
                    user_id=demo.users[name], workspace_id=demo.workspace_id, endpoint=endpoint
                )
            )
        session.add(
            VoiceQueue(
                queue_id=first, workspace_id=demo.workspace_id, announce_every_s=None,
                **(queue or {}),
            )
        )  # fmt: skip
        for name in online:
            await do_set_presence(session, demo.workspace_id, demo.users[name], "online")
        inbox_id = inbox.id
    controller = await link.start(inbox_id)
    http = httpx.AsyncClient(base_url=sim.base_url, auth=sim.auth)
    return Line(sim, http, inbox_id, controller, demo)


async def running_line(
    demo: Demo, **kwargs: Any
) -> AsyncIterator[Line]:  # pragma: no cover - used as a fixture body
    async with run_simulator(speed=1.0, sound_s=0.05, password="sim-secret") as sim:
        line = await open_line(demo, sim, **kwargs)
        try:
            yield line
        finally:
            await link.stop_all()
            await line.http.aclose()
