"""The sockets this process holds, and handing each event to those allowed to get it."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict, deque
from typing import Any

import orjson

from omniline.auth import access
from omniline.auth.principal import Principal, Visitor
from omniline.realtime.events import RealtimeEvent

log = logging.getLogger(__name__)

# Snapshots a staff socket may subscribe to ({"type": "subscribe", "topic": ...}).
TOPICS = frozenset({"wallboard"})
QUEUE_LIMIT = 1000  # a socket that falls this far behind is told to resync
RESYNC = '{"type":"resync"}'


class FrameQueue:
    """The frames waiting to go out on one socket: bounded, awaited through one future.

    An ``asyncio.Queue`` with a getter task and ``asyncio.wait`` per frame cost a few
    objects per frame per socket; pushing one event to thousands of sockets made that,
    and the garbage collections it set off, most of the time to reach them all.
    """

    __slots__ = ("_frames", "_waiter", "maxsize")

    def __init__(self, maxsize: int) -> None:
        self._frames: deque[str] = deque()
        self._waiter: asyncio.Future[bool] | None = None
        self.maxsize = maxsize

    def qsize(self) -> int:
        return len(self._frames)

    def empty(self) -> bool:
        return not self._frames

    def full(self) -> bool:
        return len(self._frames) >= self.maxsize

    def put_nowait(self, frame: str) -> None:
        if self.full():
            raise asyncio.QueueFull
        self._frames.append(frame)
        self.wake()

    def get_nowait(self) -> str:
        if not self._frames:
            raise asyncio.QueueEmpty
        return self._frames.popleft()

    def wake(self) -> None:
        """End a pending :meth:`wait` early (a frame came, or the socket is closing)."""
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(True)

    async def wait(self, seconds: float) -> bool:
        """Wait for a frame or :meth:`wake`: True, or False once ``seconds`` have passed."""
        if self._frames:
            return True
        loop = asyncio.get_running_loop()
        self._waiter = waiter = loop.create_future()
        timer = loop.call_later(seconds, _expire, waiter)
        try:
            return await waiter
        finally:
            timer.cancel()
            self._waiter = None


def _expire(waiter: asyncio.Future[bool]) -> None:
    if not waiter.done():
        waiter.set_result(False)


class Connection:
    __slots__ = ("close_code", "close_reason", "closed", "overflowed", "queue")

    def __init__(self) -> None:
        self.queue = FrameQueue(QUEUE_LIMIT)
        self.overflowed = False
        self.closed = False
        self.close_code = 1000
        self.close_reason = ""

    def end(self, code: int, reason: str) -> None:
        """The server ends the socket (access taken away): the client reads ``code``."""
        self.close_code = code
        self.close_reason = reason
        self.close()

    def push(self, frame: str) -> None:
        try:
            self.queue.put_nowait(frame)
        except asyncio.QueueFull:
            self.overflowed = True

    def close(self) -> None:
        """The peer went away: the sender stops at once instead of at its next heartbeat."""
        self.closed = True
        self.queue.wake()


class StaffConnection(Connection):
    __slots__ = ("loaded_at", "principal", "topics")

    def __init__(self, principal: Principal, loaded_at: float = 0.0) -> None:
        super().__init__()
        self.principal = principal
        # When ``principal`` was read (Unix seconds): memberships changed later reload it.
        self.loaded_at = loaded_at
        # Views that asked for pushed snapshots (TOPICS), e.g. the wallboard.
        self.topics: set[str] = set()


class VisitorConnection(Connection):
    __slots__ = ("visitor",)

    def __init__(self, visitor: Visitor) -> None:
        super().__init__()
        self.visitor = visitor


def _frame(event: RealtimeEvent, variant: str, data: dict[str, Any] | None) -> str:
    cached = event._frames.get(variant)
    if cached is None:
        cached = orjson.dumps({"id": event.id, "type": event.type, "data": data}).decode()
        event._frames[variant] = cached
    return cached


class Hub:
    def __init__(self) -> None:
        self._staff: dict[int, set[StaffConnection]] = defaultdict(set)
        self._visitors: dict[int, set[VisitorConnection]] = defaultdict(set)

    def add(self, conn: Connection) -> None:
        if isinstance(conn, StaffConnection):
            self._staff[conn.principal.workspace_id].add(conn)
        elif isinstance(conn, VisitorConnection):
            self._visitors[conn.visitor.contact_id].add(conn)

    def remove(self, conn: Connection) -> None:
        if isinstance(conn, StaffConnection):
            _discard(self._staff, conn.principal.workspace_id, conn)
        elif isinstance(conn, VisitorConnection):
            _discard(self._visitors, conn.visitor.contact_id, conn)

    def resync_all(self) -> None:
        """Events may have been lost: every socket reloads its view from the API."""
        for staff in self._staff.values():
            for conn in staff:
                conn.push(RESYNC)
        for visitors in self._visitors.values():
            for vconn in visitors:
                vconn.push(RESYNC)

    def subscribers(self, workspace_id: int, topic: str) -> list[StaffConnection]:
        """This process's staff sockets of a workspace that subscribed to ``topic``."""
        return [c for c in self._staff.get(workspace_id, ()) if topic in c.topics]

    def staff_connections(self) -> list[StaffConnection]:
        return [conn for group in self._staff.values() for conn in group]

    @property
    def size(self) -> int:
        return sum(len(s) for s in self._staff.values()) + sum(
            len(s) for s in self._visitors.values()
        )

    def dispatch(self, event: RealtimeEvent) -> None:
        aud = event.audience
        if aud.staff:
            for conn in self._staff.get(aud.workspace_id, ()):
                variant = access.event_payload_for(conn.principal, aud)
                if variant == "full":
                    conn.push(_frame(event, "full", event.data))
                elif variant == "locked":
                    conn.push(_frame(event, "locked", aud.locked_data))
        if aud.contact_id is not None and aud.contact_data is not None:
            for vconn in self._visitors.get(aud.contact_id, ()):
                if aud.inbox_id is None or vconn.visitor.inbox_id == aud.inbox_id:
                    vconn.push(_frame(event, "contact", aud.contact_data))

    def replay_for(self, conn: Connection, events: list[RealtimeEvent]) -> list[str]:
        """Frames a reconnecting socket missed, filtered by the same rules as live ones."""
        frames: list[str] = []
        for event in events:
            aud = event.audience
            if isinstance(conn, StaffConnection):
                variant = access.event_payload_for(conn.principal, aud)
                if variant == "full":
                    frames.append(_frame(event, "full", event.data))
                elif variant == "locked":
                    frames.append(_frame(event, "locked", aud.locked_data))
            elif (
                isinstance(conn, VisitorConnection)
                and aud.contact_id == conn.visitor.contact_id
                and aud.contact_data is not None
                and (aud.inbox_id is None or aud.inbox_id == conn.visitor.inbox_id)
            ):
                frames.append(_frame(event, "contact", aud.contact_data))
        return frames


def _discard(table: dict[int, Any], key: int, conn: Connection) -> None:
    group = table.get(key)
    if group is not None:
        group.discard(conn)
        if not group:
            table.pop(key, None)
