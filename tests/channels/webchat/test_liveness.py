"""The widget/app socket keeps ``live_until`` of the visitor fresh, and ends it on leaving."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import datetime

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from omniline import db
from omniline.config import Settings, set_settings
from omniline.contacts import repository as contacts_repo
from omniline.kit.clock import utcnow
from tests.conftest import Demo, LiveServer, bearer, staff_token
from tests.contacts.people import make_inbox, writes
from tests.realtime.conftest import Stream, close_code_of, open_stream, ws_url


@pytest.fixture
def settings(settings: Settings) -> Iterator[Settings]:
    fast = Settings(**{**settings.model_dump(), "heartbeat_seconds": 0.2})
    set_settings(fast)
    yield fast


@pytest.fixture
async def http(live_server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=live_server.url, timeout=10) as c:
        yield c


async def _session(http: httpx.AsyncClient, demo: Demo) -> tuple[str, int]:
    r = await http.post("/api/v1/widget/sessions", json={"inbox_key": demo.inbox_key})
    assert r.status_code == 201, r.text
    return r.json()["session_token"], r.json()["contact_id"]


async def _live_until(contact_id: int) -> datetime | None:
    async with db.sessionmaker()() as session:
        return await contacts_repo.live_until_of(session, contact_id)


async def _is_live(contact_id: int) -> bool:
    until = await _live_until(contact_id)
    return until is not None and until > utcnow()


async def eventually(check: Callable[[], Awaitable[bool]], what: str) -> None:
    for _ in range(200):
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"never happened: {what}")


async def _socket(live: LiveServer, token: str) -> Stream:
    stream = await open_stream(ws_url(live, "/api/v1/widget/stream", token=token))
    await stream.hello()
    return stream


async def test_connected_visitor_is_live_until_they_leave(
    live_server: LiveServer, http: httpx.AsyncClient, demo: Demo
) -> None:
    token, contact_id = await _session(http, demo)
    assert await _live_until(contact_id) is None
    stream = await _socket(live_server, token)
    assert await _is_live(contact_id)
    first = await _live_until(contact_id)
    assert first is not None

    async def moved_on() -> bool:
        until = await _live_until(contact_id)
        return until is not None and until > first

    await eventually(moved_on, "the heartbeat pushes live_until forward")
    await stream.ws.close()

    async def left() -> bool:
        return not await _is_live(contact_id)

    await eventually(left, "leaving ends liveness")


async def test_the_visitor_stays_live_while_another_socket_is_open(
    live_server: LiveServer, http: httpx.AsyncClient, demo: Demo
) -> None:
    token, contact_id = await _session(http, demo)
    phone = await _socket(live_server, token)
    laptop = await _socket(live_server, token)
    await phone.ws.close()
    # Two heartbeats later the remaining socket still vouches for the visitor.
    for _ in range(2):
        await laptop.until(lambda f: f.get("type") == "heartbeat", skip_heartbeats=False)
    assert await _is_live(contact_id)
    await laptop.ws.close()

    async def left() -> bool:
        return not await _is_live(contact_id)

    await eventually(left, "the last socket closing ends liveness")


async def test_a_merged_away_visitor_is_sent_to_renew_the_session(
    live_server: LiveServer, http: httpx.AsyncClient, demo: Demo
) -> None:
    token, contact_id = await _session(http, demo)
    said = await http.post("/api/v1/widget/messages", json={"text": "Hi"}, headers=bearer(token))
    assert said.status_code == 201
    stream = await _socket(live_server, token)
    tg = await make_inbox(demo, "telegram")
    keep = await writes(demo, tg, "tg-1", name="Ivan")
    admin = bearer(await staff_token(http, "admin@demo.omniline", "demo-admin"))
    r = await http.post(
        f"/api/v1/contacts/{keep.contact_id}/merge", json={"other_id": contact_id}, headers=admin
    )
    assert r.status_code == 200, r.text
    with pytest.raises(ConnectionClosed):
        await stream.until(lambda f: False, timeout=5)
    url = ws_url(live_server, "/api/v1/widget/stream", token=token)
    assert await close_code_of(url) == 4401

    async def expired() -> bool:
        # The moved identity keeps its last live_until; nobody refreshes it any more.
        return not await _is_live(keep.contact_id)

    await eventually(expired, "the old socket's liveness runs out")
