"""Serving one WebSocket: hello, replay of missed events, live events, heartbeats."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import orjson
from starlette.websockets import WebSocket, WebSocketDisconnect

from omniline.config import get_settings
from omniline.realtime.hub import RESYNC, TOPICS, Connection, StaffConnection
from omniline.realtime.service import get_realtime

log = logging.getLogger(__name__)

HEARTBEAT = '{"type":"heartbeat"}'
PONG = '{"type":"pong"}'


async def refuse(ws: WebSocket, code: int, reason: str) -> None:
    """Close with ``code`` (4401 sign in, 4403 refused) so that the client can read it.

    Closing before the handshake makes the server answer a bare HTTP 403 and the browser
    sees only 1006, so accept first; nothing is sent before the close frame.
    """
    await ws.accept()
    # A close reason may carry at most 123 bytes.
    await ws.close(code=code, reason=reason.encode()[:120].decode(errors="ignore"))


async def serve(ws: WebSocket, conn: Connection, last_event_id: str | None) -> None:
    """Run until the peer goes away. The socket must already be accepted."""
    rt = get_realtime()
    # No await between reading the buffer and registering: nothing is missed or doubled.
    missed = rt.bus.buffer.since(last_event_id) if last_event_id else []
    head = rt.bus.buffer.head_id
    rt.hub.add(conn)
    reader = asyncio.create_task(_read(ws, conn))
    try:
        await ws.send_text(orjson.dumps({"type": "hello", "last_event_id": head}).decode())
        if missed is None:
            await ws.send_text(RESYNC)
        else:
            for frame in rt.hub.replay_for(conn, missed):
                await ws.send_text(frame)
        beat = get_settings().heartbeat_seconds
        while not conn.closed:
            if await conn.queue.wait(beat):
                await _send_queued(ws, conn)
            elif not conn.closed:
                await ws.send_text(HEARTBEAT)
    except (WebSocketDisconnect, RuntimeError, OSError):
        pass
    finally:
        rt.hub.remove(conn)
        reader.cancel()
        with contextlib.suppress(BaseException):
            await reader
        with contextlib.suppress(Exception):
            # A close reason may carry at most 123 bytes.
            reason = conn.close_reason.encode()[:120].decode(errors="ignore")
            await ws.close(code=conn.close_code, reason=reason)


async def _send_queued(ws: WebSocket, conn: Connection) -> None:
    """Everything queued: one wake-up per burst, not per frame."""
    while not conn.closed and not conn.queue.empty():
        await ws.send_text(conn.queue.get_nowait())
        if conn.overflowed:
            _drain(conn)
            await ws.send_text(RESYNC)
        if not conn.queue.empty():
            # One frame per turn: an event reaches every socket before the next one goes out.
            await asyncio.sleep(0)


def _drain(conn: Connection) -> None:
    while not conn.queue.empty():
        conn.queue.get_nowait()
    conn.overflowed = False


async def _read(ws: WebSocket, conn: Connection) -> None:
    try:
        while True:
            try:
                text = await ws.receive_text()
            except (WebSocketDisconnect, RuntimeError, KeyError):
                return
            try:
                msg = orjson.loads(text)
            except orjson.JSONDecodeError:
                continue
            if isinstance(msg, dict) and msg.get("type") == "ping":
                conn.push(PONG)
            elif isinstance(msg, dict) and msg.get("type") == "subscribe":
                topic = msg.get("topic")
                if isinstance(conn, StaffConnection) and topic in TOPICS:
                    conn.topics.add(str(topic))
    finally:
        conn.close()
