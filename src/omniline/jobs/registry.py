"""Job kinds and their handlers. A handler takes a session and the payload, and re-reads state."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

Handler = Callable[[AsyncSession, dict[str, Any]], Awaitable[None]]

_handlers: dict[str, Handler] = {}
_concurrent: set[str] = set()


def job(kind: str, *, concurrent: bool = False) -> Callable[[Handler], Handler]:
    """``concurrent``: jobs of this kind may run beside each other and beside other jobs in
    one runner (on PostgreSQL), as they would in several runners: their handler orders what
    must be ordered itself (a row lock). Others run one at a time, in the order they fell due."""

    def register(fn: Handler) -> Handler:
        _handlers[kind] = fn
        if concurrent:
            _concurrent.add(kind)
        else:
            _concurrent.discard(kind)
        return fn

    return register


def handler_for(kind: str) -> Handler | None:
    return _handlers.get(kind)


def runs_concurrently(kind: str) -> bool:
    return kind in _concurrent


def kinds() -> list[str]:
    return sorted(_handlers)


class RetryLater(Exception):
    """A handler asks to be run again after ``seconds`` (a rate limit, a busy peer)."""

    def __init__(self, message: str, seconds: float) -> None:
        super().__init__(message)
        self.seconds = seconds


class GiveUp(Exception):
    """A handler says more attempts cannot help (a 4xx from a peer): the job is parked as
    failed at once with this reason, where a person can see it and retry it by hand."""
