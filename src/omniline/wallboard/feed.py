"""Pushing wallboard snapshots over the staff sockets, coalesced.

Every process reads every realtime event (realtime/bus.py). When one that moves a wallboard
figure arrives (a conversation queued, assigned or closed, a call, a presence change) and
this process holds sockets subscribed to the wallboard of that workspace, one snapshot is
read ``COALESCE_S`` later and pushed to them: a burst of events from 1,500 agents costs one
read per window, not one per event, and the realtime layer itself never reads the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import orjson

from omniline import db
from omniline.auth import access
from omniline.realtime.events import RealtimeEvent
from omniline.realtime.hub import Hub, StaffConnection
from omniline.realtime.service import Realtime
from omniline.wallboard.service import for_viewer, snapshot

log = logging.getLogger(__name__)

TOPIC = "wallboard"
COALESCE_S = 0.25
MOVES_FIGURES = ("conversation.", "presence.", "voice.", "assignment.")


class Feed:
    def __init__(self, hub: Hub, delay: float = COALESCE_S) -> None:
        self.hub = hub
        self.delay = delay
        self._pending: set[int] = set()
        self._locks: dict[int, asyncio.Lock] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def on_event(self, event: RealtimeEvent) -> None:
        """Bus listener (synchronous, no database): schedule one snapshot per window."""
        if not event.type.startswith(MOVES_FIGURES):
            return
        ws = event.audience.workspace_id
        if ws in self._pending or not self.hub.subscribers(ws, TOPIC):
            return
        self._pending.add(ws)
        asyncio.get_running_loop().call_later(self.delay, self._start, ws)

    def _start(self, ws: int) -> None:
        task = asyncio.create_task(self.push(ws))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def push(self, ws: int) -> None:
        """Read one snapshot and push each subscriber the part it may see."""
        lock = self._locks.setdefault(ws, asyncio.Lock())
        async with lock:
            # Events from here on schedule the next window: none is left unseen.
            self._pending.discard(ws)
            conns = [
                c for c in self.hub.subscribers(ws, TOPIC) if access.may_see_wallboard(c.principal)
            ]
            if not conns:
                return
            try:
                async with db.sessionmaker()() as session:
                    snap = await snapshot(session, ws)
            except Exception:
                log.exception("wallboard snapshot of workspace %s failed", ws)
                return
            push_snapshot(snap, conns)

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(BaseException):
                await task


def push_snapshot(snap: dict[str, Any], conns: list[StaffConnection]) -> None:
    """One frame per distinct set of visible queues, rendered once."""
    frames: dict[frozenset[int] | None, str] = {}
    for conn in conns:
        key = conn.principal.queue_ids
        frame = frames.get(key)
        if frame is None:
            data = for_viewer(snap, key)
            frame = orjson.dumps({"type": "wallboard", "data": data}).decode()
            frames[key] = frame
        conn.push(frame)


_feed: Feed | None = None


def install(realtime: Realtime) -> Feed:
    """Listen to the process's bus (called once the app's realtime layer exists)."""
    global _feed
    _feed = Feed(realtime.hub)
    realtime.bus.listen(_feed.on_event)
    return _feed
