"""Who is asking, for the audit log, without passing HTTP objects into services.

A small ASGI middleware keeps the client's address and user agent, and the
request's ``state`` (where ``auth.deps`` leaves the principal), in a context
variable for the duration of one request. Services then call
``audit.service.record`` with no request at hand; outside a request (jobs, CLI)
the fields stay empty.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send


@dataclass(slots=True)
class RequestInfo:
    ip: str = ""
    user_agent: str = ""
    state: dict[str, Any] = field(default_factory=dict)

    @property
    def principal(self) -> Any:
        return self.state.get("principal")


_current: ContextVar[RequestInfo | None] = ContextVar("audit_request", default=None)


def current() -> RequestInfo | None:
    return _current.get()


class AuditContext:
    """Pure ASGI (no per-request Request object): costs a dict lookup and a ContextVar set."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        agent = b""
        for name, value in scope.get("headers", ()):
            if name == b"user-agent":
                agent = value
                break
        info = RequestInfo(
            ip=client[0] if client else "",
            user_agent=agent.decode("latin-1")[:300],
            state=scope.setdefault("state", {}),
        )
        token = _current.set(info)
        try:
            await self.app(scope, receive, send)
        finally:
            _current.reset(token)
