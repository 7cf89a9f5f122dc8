"""Supervisors see warnings and breaches live; agents do not get the alert."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from omniline.jobs.runner import Runner
from tests.conftest import Demo, LiveServer, staff_token
from tests.realtime.conftest import Stream, is_event, open_stream, ws_url
from tests.sla.conftest import Clock, customer_writes, make_policy

SUPERVISOR = ("supervisor@demo.omniline", "demo-supervisor")
AGENT = ("agent@demo.omniline", "demo-agent")
ADMIN = ("admin@demo.omniline", "demo-admin")


@pytest.fixture
async def http(live_server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the live server (a second app would replace the realtime hub)."""
    async with httpx.AsyncClient(base_url=live_server.url, timeout=10) as c:
        yield c


async def stream_of(live: LiveServer, http: httpx.AsyncClient, who: tuple[str, str]) -> Stream:
    token = await staff_token(http, *who)
    stream = await open_stream(ws_url(live, "/api/v1/stream", token=token))
    await stream.hello()
    return stream


async def test_supervisors_receive_warning_and_breach_live(
    live_server: LiveServer, http: httpx.AsyncClient, demo: Demo, clock: Clock
) -> None:
    await make_policy(http, demo)
    supervisor = await stream_of(live_server, http, SUPERVISOR)
    admin = await stream_of(live_server, http, ADMIN)
    agent = await stream_of(live_server, http, AGENT)
    _, conv_id = await customer_writes(http)

    clock.advance(481)
    await Runner().run_due()
    got = await supervisor.until(is_event("sla.warning", conversation_id=conv_id))
    warning = got[-1]["data"]
    assert warning["target"] == "first_response"
    assert warning["queue_id"] == demo.queues["First line"]

    clock.advance(120)
    await Runner().run_due()
    breach = (await supervisor.until(is_event("sla.breached", conversation_id=conv_id)))[-1]
    assert breach["data"]["due_at"] == warning["due_at"]
    await admin.until(is_event("sla.breached", conversation_id=conv_id))

    # The agent's list learns the countdown turned red, but the alert is for the leads.
    seen = await agent.until(
        lambda f: (
            f.get("type") == "conversation.updated"
            and f["data"]["id"] == conv_id
            and (f["data"].get("sla") or {}).get("breached") is True
        )
    )
    assert not [f for f in seen + await agent.quiet(0.5) if f["type"].startswith("sla.")]
    for s in (supervisor, admin, agent):
        await s.ws.close()
