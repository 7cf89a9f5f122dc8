"""Fan-out of realtime events: in-process by default, Redis streams across processes.

Every process reads every event and hands it to its local hub, which knows the
sockets it holds. Publishing never touches the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

import orjson

from omniline.realtime.buffer import EventBuffer
from omniline.realtime.events import RealtimeEvent, parse_event_id

log = logging.getLogger(__name__)

Listener = Callable[[RealtimeEvent], None]
STREAM = "omniline:events"
BLOCK_MS = 5000  # one XREAD waits at most this long for new events


class Bus:
    def __init__(self, buffer_size: int) -> None:
        self.buffer = EventBuffer(buffer_size)
        self._listeners: list[Listener] = []
        self._gap_listeners: list[Callable[[], None]] = []
        # False while the event source (Redis) is unreachable: readiness reports it.
        self.healthy = True

    def listen(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def on_gap(self, listener: Callable[[], None]) -> None:
        """Called when events may have been lost (the source was away): sockets resync."""
        self._gap_listeners.append(listener)

    def _gap(self) -> None:
        for listener in self._gap_listeners:
            try:
                listener()
            except Exception:
                log.exception("realtime gap listener failed")

    def _deliver(self, event: RealtimeEvent) -> None:
        self.buffer.append(event)
        for listener in self._listeners:
            try:
                listener(event)
            except Exception:
                log.exception("realtime listener failed")

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def publish(self, events: list[RealtimeEvent]) -> None:
        raise NotImplementedError


class MemoryBus(Bus):
    def __init__(self, buffer_size: int) -> None:
        super().__init__(buffer_size)
        # Ids start from this process's start time, so after a restart every id is
        # newer than before and a client holding an old one is told to resync.
        self._epoch = time.time_ns() // 1_000_000
        self._counter = 0
        self.buffer.set_floor(f"{self._epoch}-0")

    async def publish(self, events: list[RealtimeEvent]) -> None:
        for event in events:
            self._counter += 1
            event.id = f"{self._epoch}-{self._counter}"
            self._deliver(event)


class RedisBus(Bus):
    """Events go to one Redis stream; each process tails it with XREAD."""

    def __init__(self, url: str, buffer_size: int) -> None:
        super().__init__(buffer_size)
        import redis.asyncio as aioredis

        self._url = url
        self._size = buffer_size
        # Short timeouts: a publish during an outage must fail fast, not hold the request.
        self._redis: Any = aioredis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
        # The read timeout must outlast the XREAD block, or every idle block ends in a
        # TimeoutError (redis-py's default socket timeout is 5 s, as long as the block).
        self._reader: Any = aioredis.from_url(
            url, socket_timeout=BLOCK_MS / 1000 + 10, socket_connect_timeout=2
        )
        self._task: asyncio.Task[None] | None = None
        self._last = "$"
        self._stopping = False
        self._down_since: float | None = None
        self._lost = 0

    async def start(self) -> None:
        # Prefill the buffer so that a client reconnecting to this process can resume.
        recent = await self._redis.xrevrange(STREAM, count=self._size + 1)
        recent.reverse()
        if len(recent) > self._size:
            floor_id, _ = recent.pop(0)
            self.buffer.set_floor(floor_id.decode())
        elif recent:
            # The whole stream fits. What came before its first entry may have been trimmed
            # (MAXLEN of any process) or lost (Redis restarted empty): a client whose last
            # id is older must resync rather than be replayed a history with a hole in it.
            self.buffer.set_floor(recent[0][0].decode())
        else:
            seconds, micros = await self._redis.time()
            self.buffer.set_floor(f"{int(seconds) * 1000 + int(micros) // 1000 - 1}-0")
        for raw_id, fields in recent:
            self.buffer.append(RealtimeEvent.from_wire(orjson.loads(fields[b"e"]), raw_id.decode()))
        self._last = recent[-1][0].decode() if recent else "0-0"
        self._task = asyncio.create_task(self._tail(), name="redis-bus-tail")

    async def stop(self) -> None:
        self._stopping = True
        task = self._task
        if task is not None:
            # On Python 3.11 asyncio.wait_for (used inside redis-py) loses a cancellation that
            # races with the operation it wraps, and the reader would then block for a whole
            # XREAD: cancel again until it is gone (the flag ends the loop in any case).
            loop = asyncio.get_running_loop()
            deadline = loop.time() + BLOCK_MS / 1000 + 2
            while not task.done() and loop.time() < deadline:
                task.cancel()
                await asyncio.wait({task}, timeout=0.05)
            if task.done():
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    task.result()
            else:
                log.warning("redis stream reader did not stop")
        await self._redis.aclose()
        await self._reader.aclose()

    async def publish(self, events: list[RealtimeEvent]) -> None:
        if not events:
            return
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for event in events:
                    pipe.xadd(
                        STREAM,
                        {"e": orjson.dumps(event.to_wire())},
                        maxlen=self._size,
                        approximate=True,
                    )
                await pipe.execute()
        except Exception as exc:
            # The data is committed; these pushes are lost. Sockets are told to resync when
            # Redis answers again (see _recovered), and the outage is logged once.
            self._lost += len(events)
            self._went_down(exc)

    def _went_down(self, exc: BaseException) -> None:
        self.healthy = False
        if self._down_since is None:
            self._down_since = time.monotonic()
            log.error(
                "redis does not answer (%s: %s): realtime events are not delivered until it is "
                "back; open sockets will be told to resync",
                type(exc).__name__,
                exc,
            )

    async def _recovered(self) -> None:
        """Redis answers again: what was published meanwhile is gone, and a restarted Redis
        numbers its stream anew. Every event id from before is made too old to resume from, and
        every open socket is told to resync (reload its view from the API)."""
        if self._down_since is None:
            return
        seconds, micros = await self._redis.time()
        now_id = f"{int(seconds) * 1000 + int(micros) // 1000}-0"
        latest = await self._redis.xrevrange(STREAM, count=1)
        floor = max(
            [now_id, self.buffer.head_id, *(r[0].decode() for r in latest)], key=parse_event_id
        )
        self.buffer.set_floor(floor)
        self.buffer.clear()
        self._last = floor
        log.warning(
            "redis answers again after %.1f s (%d events were not delivered); open sockets resync",
            time.monotonic() - self._down_since,
            self._lost,
        )
        self._down_since = None
        self._lost = 0
        self.healthy = True
        self._gap()

    async def _tail(self) -> None:
        while not self._stopping:
            try:
                answer = await self._reader.xread({STREAM: self._last}, block=BLOCK_MS, count=500)
                if self._down_since is not None:
                    await self._recovered()
                    continue
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if self._stopping:
                    return
                self._went_down(exc)
                await asyncio.sleep(0.5)
                continue
            for _stream, entries in answer or []:
                for raw_id, fields in entries:
                    event_id = raw_id.decode()
                    self._last = event_id
                    try:
                        event = RealtimeEvent.from_wire(orjson.loads(fields[b"e"]), event_id)
                    except Exception:
                        log.exception("bad event in stream: %s", event_id)
                        continue
                    self._deliver(event)


def make_bus(redis_url: str | None, buffer_size: int) -> Bus:
    if redis_url:
        return RedisBus(redis_url, buffer_size)
    return MemoryBus(buffer_size)
