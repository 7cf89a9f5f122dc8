"""Long-running loops a channel needs besides jobs (IMAP IDLE sessions, the SMTP receiver).

A channel registers a factory in its ``register()``; the job-running process (``omniline
worker``, or ``serve`` with jobs on) starts every loop and cancels them on shutdown. A loop
must survive its own faults (log, wait, go on) and end cleanly when cancelled.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

Loop = Callable[[], Awaitable[None]]

_loops: dict[str, Loop] = {}


def register_background(name: str, loop: Loop) -> None:
    _loops[name] = loop


class Background:
    def __init__(self) -> None:
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        for name, loop in sorted(_loops.items()):
            self._tasks.append(asyncio.create_task(_guard(name, loop), name=f"bg:{name}"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []


async def _guard(name: str, loop: Loop) -> None:
    delay = 1.0
    while True:
        try:
            await loop()
            return
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("background loop %s failed; restarting in %.0f s", name, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 60.0)
