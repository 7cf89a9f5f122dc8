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
from omniline.realtime.events import RealtimeEvent

log = logging.getLogger(__name__)

Listener = Callable[[RealtimeEvent], None]
STREAM = "omniline:events"


class Bus:
    def __init__(self, buffer_size: int) -> None:
        self.buffer = EventBuffer(buffer_size)
        self._listeners: list[Listener] = []

    def listen(self, listener: Listener) -> None:
        self._listeners.append(listener)

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
        self._redis: Any = aioredis.from_url(url)
        self._reader: Any = aioredis.from_url(url)
        self._task: asyncio.Task[None] | None = None
        self._last = "$"
        self._started = asyncio.Event()

    async def start(self) -> None:
        # Prefill the buffer so that a client reconnecting to this process can resume.
        recent = await self._redis.xrevrange(STREAM, count=self._size + 1)
        recent.reverse()
        if len(recent) > self._size:
            floor_id, _ = recent.pop(0)
            self.buffer.set_floor(floor_id.decode())
        for raw_id, fields in recent:
            self.buffer.append(RealtimeEvent.from_wire(orjson.loads(fields[b"e"]), raw_id.decode()))
        self._last = recent[-1][0].decode() if recent else "0-0"
        if not recent:
            info_last = await self._redis.xrevrange(STREAM, count=1)
            self._last = info_last[0][0].decode() if info_last else "0-0"
            self.buffer.set_floor(self._last)
        self._task = asyncio.create_task(self._tail(), name="redis-bus-tail")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        await self._redis.aclose()
        await self._reader.aclose()

    async def publish(self, events: list[RealtimeEvent]) -> None:
        if not events:
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            for event in events:
                pipe.xadd(
                    STREAM,
                    {"e": orjson.dumps(event.to_wire())},
                    maxlen=self._size,
                    approximate=True,
                )
            await pipe.execute()

    async def _tail(self) -> None:
        while True:
            try:
                answer = await self._reader.xread({STREAM: self._last}, block=5000, count=500)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("redis stream read failed; retrying")
                await asyncio.sleep(1)
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
