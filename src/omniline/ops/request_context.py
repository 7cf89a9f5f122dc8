"""A request id for every HTTP request, in the response header, every log line and the jobs
the request starts; and the request's route and latency for the metrics. Pure ASGI."""

from __future__ import annotations

import re
import time
import uuid
from contextvars import ContextVar

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from omniline.ops import metrics

request_id: ContextVar[str] = ContextVar("request_id", default="")
SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def incoming_id(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            text = value.decode("latin-1")
            if SANE_ID.match(text):
                return text
            break
    return uuid.uuid4().hex


class RequestContext:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        rid = incoming_id(scope)
        token = request_id.set(rid)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                MutableHeaders(scope=message)["X-Request-ID"] = rid
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id.reset(token)
            if scope["type"] == "http":
                route = scope.get("route")
                template = getattr(route, "path", None) or "unmatched"
                method = str(scope.get("method", ""))
                metrics.http_requests.labels(method, template, str(status)).inc()
                metrics.http_seconds.labels(method, template).observe(time.perf_counter() - started)
