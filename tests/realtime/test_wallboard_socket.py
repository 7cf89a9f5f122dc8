"""The wallboard's pushed snapshots on the staff socket: subscribers only, coalesced, scoped."""

from __future__ import annotations

import asyncio

import httpx

from tests.conftest import Demo, LiveServer, staff_token, visitor
from tests.realtime.conftest import Frame, open_stream, say, ws_url

ADMIN = ("admin@demo.omniline", "demo-admin")
AGENT = ("agent@demo.omniline", "demo-agent")


def _waiting(frame: Frame, name: str) -> int:
    q = next(q for q in frame["data"]["queues"] if q["name"] == name)
    return int(q["waiting"]["chats"]) + int(q["waiting"]["calls"])


async def test_a_queued_chat_reaches_the_wallboard_within_a_second(
    live_server: LiveServer, http: httpx.AsyncClient, demo: Demo
) -> None:
    admin = await open_stream(
        ws_url(live_server, "/api/v1/stream", token=await staff_token(http, *ADMIN))
    )
    await admin.hello()
    await admin.send({"type": "subscribe", "topic": "wallboard"})
    # An agent who asks for the wallboard gets nothing: the feed is for leads.
    agent = await open_stream(
        ws_url(live_server, "/api/v1/stream", token=await staff_token(http, *AGENT))
    )
    await agent.hello()
    await agent.send({"type": "subscribe", "topic": "wallboard"})
    # An admin's socket that did not subscribe gets the usual events but no snapshots.
    plain = await open_stream(
        ws_url(live_server, "/api/v1/stream", token=await staff_token(http, *ADMIN))
    )
    await plain.hello()
    await asyncio.sleep(0.2)  # the subscriptions are read by the server

    loop = asyncio.get_running_loop()
    started = loop.time()
    guests = [await visitor(http, name=f"Guest {i}") for i in range(3)]
    for guest in guests:
        await say(http, guest, "Where is my loan?")
    frames = await admin.until(
        lambda f: f.get("type") == "wallboard" and _waiting(f, "First line") == 3, timeout=5
    )
    took = loop.time() - started
    boards = [f for f in frames if f.get("type") == "wallboard"]
    # Three conversations and three messages (a dozen events) came in a burst: they are
    # coalesced into a few snapshots, not one each.
    assert 1 <= len(boards) <= 3, [_waiting(f, "First line") for f in boards]
    assert "id" not in boards[-1]  # not part of the replayable event sequence
    assert took < 5
    assert all(f.get("type") != "wallboard" for f in await agent.quiet(0.6))
    assert all(f.get("type") != "wallboard" for f in plain.seen + await plain.quiet(0.1))
    for s in (admin, agent, plain):
        await s.ws.close()
