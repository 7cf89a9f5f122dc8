"""Fixtures and helpers for the realtime tests: settings overrides, an HTTP client for the live
server, and a WebSocket reader that never waits forever."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from omniline.config import Settings, set_settings
from omniline.realtime.events import parse_event_id
from tests.conftest import LiveServer, bearer

RECV_TIMEOUT = 5.0

Frame = dict[str, Any]


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    """Parametrise this (``@pytest.mark.parametrize("settings_overrides", [{...}])``)."""
    return {}


@pytest.fixture
def settings(settings: Settings, settings_overrides: dict[str, Any]) -> Iterator[Settings]:
    if not settings_overrides:
        yield settings
        return
    changed = Settings(**{**settings.model_dump(), **settings_overrides})
    set_settings(changed)
    yield changed


@pytest.fixture
async def http(live_server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the live server (the ``client`` fixture would start a second app whose
    lifespan replaces the process's realtime hub)."""
    async with httpx.AsyncClient(base_url=live_server.url, timeout=10) as c:
        yield c


def ws_url(live: LiveServer, path: str, **params: str | None) -> str:
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return f"ws://127.0.0.1:{live.port}{path}" + (f"?{query}" if query else "")


class Stream:
    """One client socket; every read has a deadline."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.seen: list[Frame] = []

    async def recv(self, timeout: float = RECV_TIMEOUT) -> Frame:
        raw = await asyncio.wait_for(self.ws.recv(), timeout)
        assert isinstance(raw, str), f"expected a text frame, got {raw!r}"
        frame = json.loads(raw)
        frame["_raw"] = raw
        self.seen.append(frame)
        return frame

    async def hello(self) -> Frame:
        frame = await self.recv()
        assert frame["type"] == "hello", frame
        return frame

    async def until(
        self,
        predicate: Callable[[Frame], bool],
        *,
        timeout: float = RECV_TIMEOUT,
        skip_heartbeats: bool = True,
    ) -> list[Frame]:
        """Frames up to and including the first matching one (heartbeats left out)."""
        got: list[Frame] = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            left = deadline - loop.time()
            if left <= 0:
                raise AssertionError(f"no matching frame within {timeout}s; got {got!r}")
            try:
                frame = await self.recv(left)
            except TimeoutError:
                raise AssertionError(f"no matching frame within {timeout}s; got {got!r}") from None
            if skip_heartbeats and frame.get("type") == "heartbeat":
                continue
            got.append(frame)
            if predicate(frame):
                return got

    async def until_all(
        self, *predicates: Callable[[Frame], bool], timeout: float = RECV_TIMEOUT
    ) -> list[Frame]:
        """Frames until each predicate matched one of them, in any order."""
        got: list[Frame] = []
        waiting = list(predicates)

        def step(frame: Frame) -> bool:
            got.append(frame)
            for p in waiting:
                if p(frame):
                    waiting.remove(p)
                    break
            return not waiting

        await self.until(step, timeout=timeout)
        return got

    async def quiet(self, seconds: float) -> list[Frame]:
        """Whatever arrives within ``seconds`` (heartbeats left out)."""
        got: list[Frame] = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while (left := deadline - loop.time()) > 0:
            try:
                frame = await self.recv(left)
            except TimeoutError:
                break
            if frame.get("type") != "heartbeat":
                got.append(frame)
        return got

    async def send(self, frame: Frame) -> None:
        await self.ws.send(json.dumps(frame))


async def open_stream(url: str, **kwargs: Any) -> Stream:
    ws = await asyncio.wait_for(
        connect(url, open_timeout=RECV_TIMEOUT, close_timeout=2, ping_interval=None, **kwargs),
        RECV_TIMEOUT + 1,
    )
    return Stream(ws)


async def close_code_of(url: str, **kwargs: Any) -> int | None:
    """Connect and read until the server closes; the close code the client saw."""
    async with connect(
        url, open_timeout=RECV_TIMEOUT, close_timeout=2, ping_interval=None, **kwargs
    ) as ws:
        try:
            while True:
                raw = await asyncio.wait_for(ws.recv(), RECV_TIMEOUT)
                assert "hello" not in str(raw), f"the socket was served: {raw!r}"
        except ConnectionClosed as exc:
            return exc.rcvd.code if exc.rcvd is not None else None


def is_event(type_: str, **where: Any) -> Callable[[Frame], bool]:
    """A predicate: an event of ``type_`` whose ``data`` (or nested keys a.b) match ``where``."""

    def check(frame: Frame) -> bool:
        if frame.get("type") != type_:
            return False
        for key, want in where.items():
            value: Any = frame.get("data")
            for part in key.split("__"):
                if not isinstance(value, dict):
                    return False
                value = value.get(part)
            if value != want:
                return False
        return True

    return check


def events_only(frames: list[Frame]) -> list[Frame]:
    """Event frames (those with an id): no hello, heartbeat, pong or resync."""
    return [f for f in frames if "id" in f]


def assert_increasing(frames: list[Frame]) -> None:
    keys = [parse_event_id(f["id"]) for f in frames]
    assert keys == sorted(set(keys)), f"ids not strictly increasing: {[f['id'] for f in frames]}"


async def say(http: httpx.AsyncClient, token: str, text: str) -> dict[str, Any]:
    """A widget visitor writes."""
    r = await http.post("/api/v1/widget/messages", json={"text": text}, headers=bearer(token))
    assert r.status_code == 201, r.text
    return dict(r.json())


async def reply(
    http: httpx.AsyncClient, token: str, conv_id: int, text: str, *, private: bool = False
) -> dict[str, Any]:
    """A staff member answers (or writes a private note)."""
    r = await http.post(
        f"/api/v1/conversations/{conv_id}/messages",
        json={"text": text, "private": private},
        headers=bearer(token),
    )
    assert r.status_code == 201, r.text
    return dict(r.json())
