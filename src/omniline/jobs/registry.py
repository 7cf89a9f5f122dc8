"""Job kinds and their handlers. A handler takes a session and the payload, and re-reads state."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

Handler = Callable[[AsyncSession, dict[str, Any]], Awaitable[None]]

_handlers: dict[str, Handler] = {}


def job(kind: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        _handlers[kind] = fn
        return fn

    return register


def handler_for(kind: str) -> Handler | None:
    return _handlers.get(kind)


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
