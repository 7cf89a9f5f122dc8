"""Security headers as a pure ASGI middleware.

Starlette's ``@app.middleware("http")`` wraps every request in an extra task and
memory streams; on the widget's hot path that cost more than the endpoint itself.
"""

from __future__ import annotations

from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = (
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; "
    "connect-src 'self' ws: wss:; frame-ancestors 'none'"
)
# The widget frame and the demo lender site are embedded in other sites: they set their own.
EMBEDDABLE = ("/widget", "/demo/site")


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        strict = not str(scope.get("path", "")).startswith(EMBEDDABLE)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                _defaults(headers, strict)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _defaults(headers: Any, strict: bool) -> None:
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    if strict and "content-security-policy" not in headers:
        headers["Content-Security-Policy"] = CSP
        headers.setdefault("X-Frame-Options", "DENY")
