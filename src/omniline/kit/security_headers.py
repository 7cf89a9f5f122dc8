"""Security headers as a pure ASGI middleware, on every response whatever its status.

Starlette's ``@app.middleware("http")`` wraps every request in an extra task and
memory streams; on the widget's hot path that cost more than the endpoint itself.

This middleware is also where an unexpected error becomes a 500: Starlette's own error
middleware sits outside every user middleware, so its 500 would go out without these
headers, and it re-raises, so the server logged each traceback a second time.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from omniline.kit import db_unavailable

log = logging.getLogger("omniline")

CSP = (
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; "
    "connect-src 'self' ws: wss:; frame-ancestors 'none'"
)
# The widget frame and the demo lender site are embedded in other sites: they set their own;
# their error pages get one that allows framing and nothing else.
EMBEDDABLE = ("/widget", "/demo/site")
EMBEDDABLE_FALLBACK_CSP = "default-src 'none'; frame-ancestors *"
HSTS = "max-age=31536000; includeSubDomains"
CRASH_BODY = orjson.dumps(
    {"error": {"code": "internal_error", "message": "internal error; it is logged"}}
)
UNAVAILABLE_BODY = orjson.dumps(
    {
        "error": {
            "code": "service_unavailable",
            "message": "the service is briefly unavailable; nothing was saved, try again shortly",
        }
    }
)


class SecurityHeaders:
    def __init__(self, app: ASGIApp, hsts: bool = False) -> None:
        self.app = app
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        strict = not str(scope.get("path", "")).startswith(EMBEDDABLE)
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                error = int(message.get("status", 200)) >= 400
                _defaults(MutableHeaders(scope=message), strict, self.hsts, error)
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception as exc:
            retry_after: int | None = None
            if db_unavailable.is_transient_conflict(exc):
                retry_after = db_unavailable.CONFLICT_RETRY_AFTER_SECONDS
                log.warning(
                    "%s %s: ended by the database for a concurrent change (%s); answered 503",
                    scope.get("method"), scope.get("path"), type(exc).__name__,
                )  # fmt: skip
            elif db_unavailable.is_database_unavailable(exc):
                retry_after = db_unavailable.RETRY_AFTER_SECONDS
                db_unavailable.note_failure(f"{type(exc).__name__} on {scope.get('path')}")
            else:
                log.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
            if started:
                return  # the answer is already on its way; the client sees it cut short
            status, body = (503, UNAVAILABLE_BODY) if retry_after else (500, CRASH_BODY)
            headers = [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ]
            if retry_after:
                headers.append((b"retry-after", str(retry_after).encode()))
            await send_with_headers(
                {"type": "http.response.start", "status": status, "headers": headers}
            )
            await send({"type": "http.response.body", "body": body})
        else:
            if db_unavailable.is_down():
                db_unavailable.note_success()


def _defaults(headers: Any, strict: bool, hsts: bool, error: bool) -> None:
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    if hsts:
        headers.setdefault("Strict-Transport-Security", HSTS)
    if "content-security-policy" in headers:
        return
    if strict:
        headers["Content-Security-Policy"] = CSP
        headers.setdefault("X-Frame-Options", "DENY")
    elif error:
        headers["Content-Security-Policy"] = EMBEDDABLE_FALLBACK_CSP
