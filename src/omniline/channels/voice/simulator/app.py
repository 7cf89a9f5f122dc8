"""The simulator's ASGI app: ARI under /ari, the events socket, the control API under /_sim."""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import WebSocketRoute
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect

from omniline.channels.voice.simulator import ari, ari_bridges, control, params
from omniline.channels.voice.simulator.traffic import World
from omniline.channels.voice.simulator.world import AriError, SimOptions


def authorised(conn: HTTPConnection, options: SimOptions) -> bool:
    """HTTP Basic, or ?api_key=user:password as ARI also accepts."""
    wanted = f"{options.user}:{options.password}"
    if conn.query_params.get("api_key") == wanted:
        return True
    scheme, _, token = conn.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        return base64.b64decode(token).decode() == wanted
    except (binascii.Error, UnicodeDecodeError):
        return False


UNAUTHORISED = {"message": "Authentication required"}
REALM = {"WWW-Authenticate": 'Basic realm="Asterisk REST Interface"'}


class Gate:
    """Authentication for HTTP, and a down PBX answering 503 on /ari."""

    def __init__(self, app: ASGIApp, world: World) -> None:
        self.app, self.world = app, world

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            conn = HTTPConnection(scope)
            response: Response | None = None
            if not authorised(conn, self.world.options):
                response = JSONResponse(UNAUTHORISED, status_code=401, headers=REALM)
            elif self.world.down and scope["path"].startswith("/ari"):
                response = JSONResponse({"message": "Service Unavailable"}, status_code=503)
            if response is not None:
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


async def events_socket(ws: WebSocket) -> None:
    world: World = ws.app.state.world
    apps = {a for a in ws.query_params.get("app", "").split(",") if a}
    if not authorised(ws, world.options):
        await ws.send_denial_response(JSONResponse(UNAUTHORISED, 401, headers=REALM))
        return
    if world.down:
        await ws.send_denial_response(JSONResponse({"message": "Service Unavailable"}, 503))
        return
    if not apps:
        await ws.send_denial_response(JSONResponse({"message": "Missing param app"}, 400))
        return
    await ws.accept()
    sub = world.subscribe(apps, params.as_bool(ws.query_params.get("subscribeAll")))
    reader = asyncio.get_running_loop().create_task(_drain(ws, sub.queue))
    try:
        while (message := await sub.queue.get()) is not None:
            await ws.send_text(json.dumps(message))
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        world.unsubscribe(sub)
        reader.cancel()
    with contextlib.suppress(RuntimeError, WebSocketDisconnect):
        await ws.close(code=1001)


async def _drain(ws: WebSocket, queue: asyncio.Queue[Any]) -> None:
    """Read (and ignore) what the client sends; when it leaves, wake the sender."""
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        while True:
            await ws.receive_text()
    queue.put_nowait(None)


async def _ari_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AriError)
    return JSONResponse({"message": exc.message}, status_code=exc.status)


def build_app(options: SimOptions | None = None, world: World | None = None) -> Starlette:
    world = world or World(options or SimOptions())

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        world.shutdown()

    routes = [
        *ari.ROUTES,
        *ari_bridges.ROUTES,
        WebSocketRoute("/ari/events", events_socket),
        *control.ROUTES,
    ]
    app = Starlette(routes=routes, exception_handlers={AriError: _ari_error}, lifespan=lifespan)
    app.state.world = world
    app.add_middleware(Gate, world=world)
    return app
