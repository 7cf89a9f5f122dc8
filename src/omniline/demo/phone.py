"""The demo hotline: a phone line on the ARI simulator, the agents' phones, the menu flow,
and a light stream of simulated callers (demo mode only; see docs/voice-simulator.md)."""

from __future__ import annotations

import contextlib
import random
import socket
from collections.abc import AsyncIterator
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.auth.repository import users_of
from omniline.bots import service as bots
from omniline.channels.voice import admin as voice_admin
from omniline.channels.voice.models import VoiceAgent, VoiceQueue
from omniline.channels.voice.simulator import RunningSimulator, run_simulator
from omniline.demo.bot import CRM_TOKEN
from omniline.demo.phone_flow import PHONE_MENU
from omniline.inboxes import service as inboxes
from omniline.inboxes.models import Inbox
from omniline.workspaces import repository

KEY = "demo-hotline"
FLOW_KEY = "hotline"
SIM_USER, SIM_PASSWORD, SIM_APP = "omniline", "demo-ari", "omniline"
SIM_PORT = 8088  # Asterisk's usual HTTP port, when it is free
DIALLED = "+380443334455"  # the hotline's number
PHONES = {"agent@demo.omniline": "PJSIP/1001", "agent2@demo.omniline": "PJSIP/1002"}
ANSWER_AFTER_S = 2.0
# A simulated agent's phone hangs up by itself after this long in a call, so that callbacks
# booked while nobody was logged in do not wait for someone to hang up each of them.
PHONE_TALK_S = 90.0
TRAFFIC = {
    "rate_per_s": 1 / 60,  # about one call a minute
    "duration_s": 7 * 86400,
    "patience_s_mean": 120,
    "talk_s_mean": 45,
    "digits": ["0"],  # every simulated caller asks for an operator at the menu
    "dialled": DIALLED,
}


def line_settings(ari_url: str) -> dict[str, Any]:
    """The hotline's settings, checked as the admin form checks them."""
    return voice_admin.validate(
        {
            "provider": "ari",
            "ari_url": ari_url,
            "ari_user": SIM_USER,
            "ari_password": SIM_PASSWORD,
            "ari_app": SIM_APP,
            # The simulator plays any speech URL without fetching it; with a real Asterisk
            # this is a TTS server answering WAV for {text} in {lang}.
            "tts_url": "http://tts.demo.invalid/say?lang={lang}&text={text}",
            "caller_id": DIALLED,
            "region": "UA",
            "language": "uk",
            "timezone": "Europe/Kyiv",
            "short_abandon_s": 5,
            "acw_s": 15,
            "csat": True,
            "callback_on_abandon": True,
            "callback_hours": "09:00-20:00",
            "callback_max_attempts": 3,
            "callback_spacing_s": 600,
            "record": False,
        }
    )


async def ensure(session: AsyncSession, ari_url: str) -> Inbox | None:
    """The hotline of the demo workspace, made on first use and pointed at ``ari_url``
    (the simulator's port may change between runs). None without a demo workspace."""
    from omniline.demo.seed import SLUG

    ws = await repository.by_slug(session, SLUG)
    if ws is None:
        return None
    inbox = await session.scalar(select(Inbox).where(Inbox.key == KEY))
    if inbox is not None:
        inbox.settings = {**(inbox.settings or {}), "ari_url": ari_url}
        await session.flush()
        return inbox
    queues = {q.name: q.id for q in await repository.queues(session, ws.id)}
    first = queues["First line"]
    inbox = await inboxes.do_create_inbox(
        session,
        ws.id,
        channel="voice",
        name="Hotline",
        key=KEY,
        default_queue_id=first,
        settings=line_settings(ari_url),
    )
    users = {u.email: u.id for u in await users_of(session, ws.id)}
    for email, endpoint in PHONES.items():
        session.add(VoiceAgent(user_id=users[email], workspace_id=ws.id, endpoint=endpoint))
    if await session.get(VoiceQueue, first) is None:
        session.add(VoiceQueue(queue_id=first, workspace_id=ws.id, announce_every_s=30))
    await bots.do_set_secret(session, ws.id, "crm_token", CRM_TOKEN)
    flow = await bots.do_create_flow(session, ws.id, FLOW_KEY, "MicroLend hotline menu")
    await bots.do_save_draft(session, ws.id, flow.id, PHONE_MENU)
    await bots.do_publish(session, ws.id, flow.id, user_name="demo", note="demo phone menu")
    await bots.do_set_inbox_flow(session, ws.id, inbox.id, flow.id)
    return inbox


def _port_free(host: str, port: int) -> bool:
    with socket.socket() as s:
        # As the simulator binds: a port a previous run left in TIME_WAIT is free.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


@contextlib.asynccontextmanager
async def simulator(host: str = "127.0.0.1") -> AsyncIterator[RunningSimulator]:
    """The ARI simulator in this process: on 8088 when free, else on a free port."""
    port = SIM_PORT if _port_free(host, SIM_PORT) else 0
    # Calls arrive with the channel language "uk", as a trunk with language=uk in
    # pjsip.conf gives them; the PBX's language takes precedence over the line's default.
    options = {"user": SIM_USER, "password": SIM_PASSWORD, "app": SIM_APP, "language": "uk"}
    async with run_simulator(host, port, **options) as sim:
        yield sim


async def start_world(sim: RunningSimulator, *, traffic: bool = True) -> None:
    """The agents' phones registered (answering by themselves), and callers arriving."""
    async with httpx.AsyncClient(base_url=sim.base_url, auth=sim.auth, timeout=5) as http:
        for endpoint in PHONES.values():
            r = await http.post(
                "/_sim/phones",
                json={
                    "endpoint": endpoint,
                    "answer_after_s": ANSWER_AFTER_S,
                    "talk_s": PHONE_TALK_S,
                },
            )
            r.raise_for_status()
        if traffic:
            spec = {**TRAFFIC, "seed": random.randrange(1 << 30)}
            (await http.post("/_sim/traffic", json=spec)).raise_for_status()


def call_hint(sim: RunningSimulator) -> str:
    """A curl that places a call from the demo client's number (she has a loan in the CRM)."""
    return (
        f"curl -u {sim.user}:{sim.password} -H 'content-type: application/json' "
        f"{sim.base_url}/_sim/calls "
        f'-d \'{{"caller": "+380501234567", "dialled": "{DIALLED}", '
        f'"script": [{{"wait_playbacks": 1}}, {{"press": "1"}}]}}\''
    )
