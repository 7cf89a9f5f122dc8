"""Two real ``omniline serve`` processes sharing one PostgreSQL database and one Redis: events
cross processes, and a socket may resume on the other process (DESIGN.md section 6)."""

from __future__ import annotations

import asyncio
import os
import random
import re
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from omniline.realtime.bus import BLOCK_MS, STREAM, RedisBus
from omniline.realtime.events import Audience, RealtimeEvent, parse_event_id
from tests.conftest import LiveServer, free_port, staff_token, visitor
from tests.realtime.conftest import (
    assert_increasing,
    events_only,
    is_event,
    open_stream,
    reply,
    say,
    ws_url,
)

# One worker runs the module: its processes and Redis database are module fixtures.
pytestmark = [pytest.mark.redis, pytest.mark.xdist_group("redis-two-processes")]

ROOT = Path(__file__).resolve().parents[2]
PG_ADMIN_URL = os.environ.get(
    "OMNILINE_TEST_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
REDIS_BASE = os.environ.get("OMNILINE_TEST_REDIS_URL", "redis://127.0.0.1:6379").rstrip("/")
SECRET = "two-processes-secret-key-0123456789abcdef"
AGENT = ("agent@demo.omniline", "demo-agent")
STREAM_ID = re.compile(r"^\d+-\d+$")


def _omniline() -> str:
    local = Path(sys.executable).parent / "omniline"
    found = str(local) if local.exists() else shutil.which("omniline")
    if not found:
        pytest.skip("the omniline command is not installed")
    return found


def _asyncpg_dsn(url: str, database: str | None = None) -> str:
    dsn = url.replace("postgresql+asyncpg://", "postgresql://", 1)
    if database is not None:
        dsn = dsn.rsplit("/", 1)[0] + f"/{database}"
    return dsn


async def _pg(sql: str) -> None:
    import asyncpg

    conn = await asyncio.wait_for(asyncpg.connect(_asyncpg_dsn(PG_ADMIN_URL)), 3)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _pick_redis_db() -> int | None:
    """An empty Redis database (1-15) that nobody else's data lives in; flushed to be sure."""
    import redis.asyncio as aioredis

    candidates = list(range(1, 16))
    random.shuffle(candidates)
    for n in candidates:
        r = aioredis.from_url(f"{REDIS_BASE}/{n}", socket_connect_timeout=2)
        try:
            if await r.dbsize() == 0:
                await r.flushdb()
                return n
        finally:
            await r.aclose()
    return None


async def _flush_redis(n: int) -> None:
    import redis.asyncio as aioredis

    r = aioredis.from_url(f"{REDIS_BASE}/{n}", socket_connect_timeout=2)
    try:
        await r.flushdb()
    finally:
        await r.aclose()


def _require_services() -> int:
    """Redis and PostgreSQL answer; returns the Redis database to use."""
    try:
        db_number = asyncio.run(asyncio.wait_for(_pick_redis_db(), 5))
    except Exception as exc:
        pytest.skip(f"Redis does not answer at {REDIS_BASE} ({exc!r}); start it to run this")
    if db_number is None:
        pytest.skip(f"no empty Redis database 1-15 at {REDIS_BASE}")
    try:
        asyncio.run(_pg("SELECT 1"))
    except Exception as exc:
        pytest.skip(f"PostgreSQL does not answer at {PG_ADMIN_URL} ({exc!r}); start it to run this")
    return db_number


@dataclass
class Cluster:
    a: LiveServer
    b: LiveServer
    redis_url: str
    logs: list[Path]


def _run(cmd: list[str], env: dict[str, str], cwd: Path, timeout: float = 60) -> None:
    done = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{cmd} failed:\n{done.stdout}\n{done.stderr}"


SEED = """
import asyncio
from omniline import db
from omniline.demo.seed import seed

async def main():
    db.init_engine()
    try:
        async with db.unit_of_work() as session:
            assert await seed(session)
    finally:
        await db.dispose_engine()

asyncio.run(main())
"""


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], log: Path, deadline: float) -> None:
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"server {url} exited with {proc.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    pytest.fail(f"server {url} did not become healthy:\n{log.read_text()}")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    redis_db = _require_services()
    omniline = _omniline()
    work = tmp_path_factory.mktemp("two-processes")
    database = f"omniline_rt_{secrets.token_hex(4)}"
    database_url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{database}"
    redis_url = f"{REDIS_BASE}/{redis_db}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("OMNILINE_")}
    env.update(
        OMNILINE_DATABASE_URL=database_url,
        OMNILINE_REDIS_URL=redis_url,
        OMNILINE_SECRET_KEY=SECRET,
        OMNILINE_VAR_DIR=str(work / "var"),
        OMNILINE_LOG_LEVEL="warning",
        PYTHONUNBUFFERED="1",
    )
    procs: list[subprocess.Popen[bytes]] = []
    logs: list[Path] = []
    hung: list[Any] = []
    asyncio.run(_pg(f'CREATE DATABASE "{database}"'))
    try:
        _run([omniline, "migrate"], env, work)
        _run([sys.executable, "-c", SEED], env, work)
        servers = []
        for name in ("a", "b"):
            port = free_port()
            log = work / f"{name}.log"
            with log.open("wb") as out:
                procs.append(
                    subprocess.Popen(
                        [omniline, "serve", "--host", "127.0.0.1", "--port", str(port)],
                        env=env,
                        cwd=work,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                    )
                )
            servers.append(LiveServer(url=f"http://127.0.0.1:{port}", port=port))
            logs.append(log)
        deadline = time.monotonic() + 20
        for server, proc, log in zip(servers, procs, logs, strict=True):
            _wait_healthy(server.url, proc, log, deadline)
        yield Cluster(a=servers[0], b=servers[1], redis_url=redis_url, logs=logs)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                hung.append(proc.args)
                proc.kill()
                proc.wait(5)
        asyncio.run(_flush_redis(redis_db))
        asyncio.run(_pg(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
    # Both processes served, shut down on SIGTERM and logged no errors (say, of the stream reader).
    for log in logs:
        text = log.read_text()
        assert "Traceback" not in text and "ERROR" not in text, f"{log.name}:\n{text}"
    assert not hung, f"did not stop within 10 s of SIGTERM: {hung}"


async def test_messages_cross_processes_both_ways(cluster: Cluster) -> None:
    a, b = cluster.a, cluster.b
    async with (
        httpx.AsyncClient(base_url=a.url, timeout=10) as on_a,
        httpx.AsyncClient(base_url=b.url, timeout=10) as on_b,
    ):
        agent = await staff_token(on_b, *AGENT)
        agent_ws = await open_stream(ws_url(b, "/api/v1/stream", token=agent))
        guest = await visitor(on_a)
        widget_ws = await open_stream(ws_url(a, "/api/v1/widget/stream", token=guest))
        await agent_ws.hello()
        await widget_ws.hello()

        sent = await say(on_a, guest, "Hello from process A")
        got = await agent_ws.until(is_event("message.created", message__id=sent["id"]))
        assert got[-1]["data"]["message"]["text"] == "Hello from process A"
        assert [f["type"] for f in events_only(got)] == ["conversation.created", "message.created"]
        assert all(STREAM_ID.match(f["id"]) for f in events_only(got)), "ids of the Redis stream"
        conv_id = sent["conversation_id"]

        answer = await reply(on_b, agent, conv_id, "Answer from process B")
        got = await widget_ws.until(is_event("message.created", id=answer["id"]))
        assert got[-1]["data"]["text"] == "Answer from process B"
        assert got[-1]["data"]["author"] == {"type": "agent", "name": "Anna Agent"}
        await agent_ws.ws.close()
        await widget_ws.ws.close()


async def test_a_socket_resumes_on_the_other_process(cluster: Cluster) -> None:
    a, b = cluster.a, cluster.b
    async with (
        httpx.AsyncClient(base_url=a.url, timeout=10) as on_a,
        httpx.AsyncClient(base_url=b.url, timeout=10) as on_b,
    ):
        agent = await staff_token(on_a, *AGENT)
        first = await open_stream(ws_url(a, "/api/v1/stream", token=agent))
        watcher = await open_stream(ws_url(b, "/api/v1/stream", token=agent))  # stays on B
        await first.hello()
        await watcher.hello()

        guest = await visitor(on_a)
        sent = await say(on_a, guest, "resume: one")
        seen = await first.until(is_event("message.created", message__id=sent["id"]))
        last_id = events_only(seen)[-1]["id"]
        await first.ws.close()  # process A's tab goes away (say, A is being restarted)

        await reply(on_a, agent, sent["conversation_id"], "resume: two")
        other = await visitor(on_b)
        three = await say(on_b, other, "resume: three")
        # Process B has everything that was missed (the live watcher on B proves it).
        await watcher.until(is_event("message.created", message__id=three["id"]))

        back = await open_stream(ws_url(b, "/api/v1/stream", token=agent, last_event_id=last_id))
        await back.hello()
        marker = await say(on_a, guest, "resume: four, after the reconnect")
        got = events_only(await back.until(is_event("message.created", message__id=marker["id"])))
        expected = [
            f
            for f in events_only(watcher.seen)
            if parse_event_id(f["id"]) > parse_event_id(last_id)
        ]
        expected += events_only(
            await watcher.until(is_event("message.created", message__id=marker["id"]))
        )
        expected = list({f["id"]: f for f in expected}.values())

        assert got[0]["type"] != "resync"
        assert_increasing(got)
        assert [f["id"] for f in got] == [f["id"] for f in expected], "duplicates or gaps"
        texts = [f["data"]["message"]["text"] for f in got if f["type"] == "message.created"]
        assert texts == [
            "resume: two",
            "resume: three",
            "resume: four, after the reconnect",
        ]
        await watcher.ws.close()
        await back.ws.close()


async def test_an_idle_stream_reader_stays_quiet_and_prompt(cluster: Cluster) -> None:
    """Longer than one XREAD block without events: no read errors in the logs, and the next
    event still crosses processes at once."""
    a, b = cluster.a, cluster.b
    async with (
        httpx.AsyncClient(base_url=a.url, timeout=10) as on_a,
        httpx.AsyncClient(base_url=b.url, timeout=10) as on_b,
    ):
        agent = await staff_token(on_b, *AGENT)
        guest = await visitor(on_a)
        agent_ws = await open_stream(ws_url(b, "/api/v1/stream", token=agent))
        await agent_ws.hello()
        await asyncio.sleep(BLOCK_MS / 1000 + 1.5)

        started = time.monotonic()
        sent = await say(on_a, guest, "after a quiet spell")
        await agent_ws.until(is_event("message.created", message__id=sent["id"]), timeout=3)
        assert time.monotonic() - started < 0.8
        await agent_ws.ws.close()
    for log in cluster.logs:
        assert "stream read failed" not in log.read_text(), log.read_text()


# --- one process joining the shared stream late ------------------------------------------


def _event(n: int) -> RealtimeEvent:
    return RealtimeEvent(type="test.event", data={"n": n}, audience=Audience(workspace_id=1))


@pytest.fixture
def redis_url() -> Iterator[str]:
    db_number = _require_services()
    yield f"{REDIS_BASE}/{db_number}"
    asyncio.run(_flush_redis(db_number))


async def _stream_ids(url: str) -> list[str]:
    import redis.asyncio as aioredis

    r: Any = aioredis.from_url(url)
    try:
        return [raw.decode() for raw, _ in await r.xrange(STREAM)]
    finally:
        await r.aclose()


async def test_a_late_process_resumes_clients_from_the_shared_stream(redis_url: str) -> None:
    writer = RedisBus(redis_url, 100)
    await writer.start()
    try:
        await writer.publish([_event(n) for n in range(6)])
    finally:
        await writer.stop()
    ids = await _stream_ids(redis_url)
    assert len(ids) == 6

    late = RedisBus(redis_url, 100)
    await late.start()
    try:
        missed = late.buffer.since(ids[2])
        assert missed is not None
        assert [e.id for e in missed] == ids[3:]
        assert [e.data["n"] for e in missed] == [3, 4, 5]
    finally:
        await late.stop()


async def test_a_late_process_resyncs_clients_whose_events_were_trimmed(redis_url: str) -> None:
    """The stream is trimmed (by MAXLEN of any process): a process that starts afterwards must
    not replay a partial history to a client that saw only events that are gone."""
    import redis.asyncio as aioredis

    writer = RedisBus(redis_url, 100)
    await writer.start()
    try:
        await writer.publish([_event(n) for n in range(10)])
    finally:
        await writer.stop()
    ids = await _stream_ids(redis_url)
    r = aioredis.from_url(redis_url)
    try:
        await r.xtrim(STREAM, maxlen=4, approximate=False)  # ids[6:] are left
    finally:
        await r.aclose()

    late = RedisBus(redis_url, 100)
    await late.start()
    try:
        assert late.buffer.since(ids[2]) is None, "events 3, 4 and 5 are gone: resync"
        assert late.buffer.since(ids[4]) is None
        kept = late.buffer.since(ids[6])
        assert kept is not None and [e.id for e in kept] == ids[7:]
    finally:
        await late.stop()


async def test_a_client_from_before_a_redis_flush_is_resynced(redis_url: str) -> None:
    """Redis lost its data (restarted without persistence) together with events a client had
    not received yet: that client must reload, not be replayed what came after."""
    import redis.asyncio as aioredis

    writer = RedisBus(redis_url, 100)
    await writer.start()
    await writer.publish([_event(1)])
    old_id = (await _stream_ids(redis_url))[-1]  # the client saw event 1 and went away
    await writer.publish([_event(2)])  # missed by the client, then lost
    await writer.stop()
    r = aioredis.from_url(redis_url)
    try:
        await r.flushdb()
    finally:
        await r.aclose()

    fresh = RedisBus(redis_url, 100)
    await fresh.start()
    try:
        hello_head = fresh.buffer.head_id
        await fresh.publish([_event(3), _event(4)])
        for _ in range(100):  # the tail delivers them to this process's buffer
            if len(fresh.buffer.since(hello_head) or []) == 2:
                break
            await asyncio.sleep(0.02)
        after_hello = fresh.buffer.since(hello_head)
        assert after_hello is not None and [e.data["n"] for e in after_hello] == [3, 4]
        assert fresh.buffer.since(old_id) is None, "event 2 is gone: the client must resync"
    finally:
        await fresh.stop()


async def test_stop_right_after_start_does_not_hang(redis_url: str) -> None:
    """Shutting a process down just after it started (or a test doing so) must not wait on
    the stream reader forever."""
    # The lost cancellation happens while the reader connects, about a millisecond in.
    for delay in [(n % 30) * 0.0001 for n in range(60)]:
        bus = RedisBus(redis_url, 100)
        await bus.start()
        await asyncio.sleep(delay)
        started = time.monotonic()
        await asyncio.wait_for(bus.stop(), 10)
        assert time.monotonic() - started < 1.0, f"stop took too long after {delay}s"
