"""Redis goes away for a few seconds under a running server: every message is still stored,
and every open socket, and every socket that comes back with its last event id, is told to
resync; the outage is logged once, the recovery once."""

from __future__ import annotations

import asyncio
import logging
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from omniline.config import Settings, set_settings
from tests.conftest import Demo, LiveServer, free_port, staff_token, visitor
from tests.realtime.conftest import is_event, open_stream, say, ws_url

AGENT = ("agent@demo.omniline", "demo-agent")


class RedisServer:
    def __init__(self, port: int, workdir: Path) -> None:
        self.port = port
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        import socket
        import time

        for _ in range(100):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(10)
            self.proc = None


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    server = RedisServer(free_port(), tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def settings(settings: Settings, redis_server: RedisServer) -> Iterator[Settings]:
    changed = settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{redis_server.port}/0"})
    set_settings(changed)
    yield changed


@pytest.fixture
async def http(live_server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=live_server.url, timeout=10) as c:
        yield c


async def test_a_redis_outage_makes_sockets_resync_and_loses_no_message(
    live_server: LiveServer,
    http: httpx.AsyncClient,
    demo: Demo,
    redis_server: RedisServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    agent = await staff_token(http, *AGENT)
    stream = await open_stream(ws_url(live_server, "/api/v1/stream", token=agent))
    hello = await stream.hello()
    guest = await visitor(http)
    first = await say(http, guest, "before the outage")
    got = await stream.until(is_event("message.created", message__id=first["id"]))
    last_id = [f for f in got if "id" in f][-1]["id"]
    assert hello

    caplog.clear()
    with caplog.at_level(logging.INFO):
        redis_server.stop()
        sent = [await say(http, guest, f"during the outage {i}") for i in range(5)]
        assert all(m["id"] for m in sent)  # stored and acknowledged
        await asyncio.sleep(1.0)
        redis_server.start()  # a restarted Redis, empty
        frames = await stream.until(lambda f: f.get("type") == "resync", timeout=15)
        assert frames[-1]["type"] == "resync"

        # A socket that reconnects with an id from before the outage is told to resync too.
        again = await open_stream(
            ws_url(live_server, "/api/v1/stream", token=agent, last_event_id=last_id)
        )
        await again.hello()
        assert (await again.recv())["type"] == "resync"

    errors = [r for r in caplog.records if "redis does not answer" in r.getMessage()]
    recoveries = [r for r in caplog.records if "redis answers again" in r.getMessage()]
    assert len(errors) == 1 and len(recoveries) == 1
    assert not [r for r in caplog.records if r.exc_info], "no tracebacks for an outage"

    # After the resync, the agent reads everything from the API.
    r = await http.get(
        f"/api/v1/conversations/{first['conversation_id']}/messages",
        headers={"Authorization": f"Bearer {agent}"},
    )
    texts = [m["text"] for m in r.json()["items"]]
    for i in range(5):
        assert f"during the outage {i}" in texts

    # And new events flow live again.
    after = await say(http, guest, "after the outage")
    await stream.until(is_event("message.created", message__id=after["id"]), timeout=10)
