"""Group commit for incoming customer messages.

Concurrent requests hand their message to one writer task per process, which
stores everything waiting in one transaction and answers each request only
after that commit. A single INSERT+COMMIT per message tops out at a few hundred
per second on SQLite (writers queue on the lock); one commit per batch does not.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.conversations.inbound import InboundMessage
from omniline.conversations.service import Received, receive_inbound
from omniline.db import unit_of_work

log = logging.getLogger(__name__)

MAX_BATCH = 256

# Another domain may take a message before it is stored the ordinary way (a survey's answer
# in a messenger: surveys/replies.py), registered by the wiring. ``wants`` is a test without
# I/O (ordinary messages cost nothing); ``take`` runs in its own unit of work and answers
# None to leave the message to the writer.
Wants = Callable[[InboundMessage], bool]
Take = Callable[[AsyncSession, InboundMessage], Awaitable[Received | None]]
_interceptors: list[tuple[Wants, Take]] = []


def intercept(wants: Wants, take: Take) -> None:
    if (wants, take) not in _interceptors:
        _interceptors.append((wants, take))


class IngestBatcher:
    def __init__(self) -> None:
        self._queue: asyncio.Queue[tuple[InboundMessage, asyncio.Future[Received]]] = (
            asyncio.Queue()
        )
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="ingest-batcher")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def submit(self, item: InboundMessage) -> Received:
        """Returns once the message is committed (or raises the domain error for it)."""
        for wants, take in _interceptors:
            if wants(item):
                try:
                    async with unit_of_work() as session:
                        taken = await take(session, item)
                except IntegrityError:
                    taken = None  # a concurrent copy of it was stored: the writer says so
                if taken is not None:
                    return taken
        self.start()
        fut: asyncio.Future[Received] = asyncio.get_running_loop().create_future()
        await self._queue.put((item, fut))
        return await fut

    async def _loop(self) -> None:
        while True:
            first = await self._queue.get()
            batch = [first]
            while len(batch) < MAX_BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            await self._run(batch)

    async def _run(self, batch: list[tuple[InboundMessage, asyncio.Future[Received]]]) -> None:
        try:
            async with unit_of_work() as session:
                results = await receive_inbound(session, [item for item, _ in batch])
            for (_, fut), res in zip(batch, results, strict=True):
                if not fut.done():
                    fut.set_result(res)
            return
        except IntegrityError:
            # A concurrent writer (another process) stored one of these external ids first:
            # go one by one so only the duplicate is affected.
            pass
        except Exception as exc:
            if len(batch) == 1:
                _fail(batch[0][1], exc)
                return
        for item, fut in batch:
            try:
                async with unit_of_work() as session:
                    (res,) = await receive_inbound(session, [item])
                if not fut.done():
                    fut.set_result(res)
            except IntegrityError:
                try:
                    async with unit_of_work() as session:
                        (res,) = await receive_inbound(session, [item])
                    if not fut.done():
                        fut.set_result(res)
                except Exception as exc:
                    _fail(fut, exc)
            except Exception as exc:
                _fail(fut, exc)


def _fail(fut: asyncio.Future[Received], exc: BaseException) -> None:
    if not fut.done():
        fut.set_exception(exc)


_batcher: IngestBatcher | None = None


def get_batcher() -> IngestBatcher:
    global _batcher
    if _batcher is None:
        _batcher = IngestBatcher()
    return _batcher


async def reset_batcher() -> None:
    global _batcher
    if _batcher is not None:
        await _batcher.stop()
    _batcher = None
