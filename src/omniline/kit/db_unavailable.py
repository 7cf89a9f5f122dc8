"""Telling "the database is not answering" apart from a bug, and saying it once per outage.

A database that restarts or cannot be reached makes requests fail with connection errors. Those
are answered 503 with ``Retry-After`` (clients and load balancers retry), logged as one line
when the outage starts and one when requests work again, not as a traceback per request.
"""

from __future__ import annotations

import logging
import time

from sqlalchemy import exc as sa_exc

log = logging.getLogger("omniline")

RETRY_AFTER_SECONDS = 5
_CONNECTION_ERRORS = (ConnectionError, TimeoutError, sa_exc.TimeoutError)
# asyncpg's own connection errors, by name (not imported: the driver is optional).
_DRIVER_NAMES = frozenset(
    {
        "CannotConnectNowError",
        "ConnectionDoesNotExistError",
        "ConnectionFailureError",
        "InterfaceError",
        "PostgresConnectionError",
        "AdminShutdownError",
        "CrashShutdownError",
        "TooManyConnectionsError",
    }
)

# A transaction the database ended to let a concurrent one through (a deadlock it broke, a
# serialization failure): nothing was saved, and the same request, sent again, succeeds.
CONFLICT_RETRY_AFTER_SECONDS = 1
_CONFLICT_STATES = frozenset({"40P01", "40001"})

_down_since: float | None = None
_failures = 0


def is_database_unavailable(exc: BaseException) -> bool:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, sa_exc.DBAPIError) and current.connection_invalidated:
            return True
        if isinstance(current, (sa_exc.OperationalError, sa_exc.InterfaceError)):
            return True
        if isinstance(current, _CONNECTION_ERRORS):
            return True
        if type(current).__name__ in _DRIVER_NAMES:
            return True
        current = current.__cause__ or current.__context__
    return False


def is_transient_conflict(exc: BaseException) -> bool:
    """A deadlock or serialization failure anywhere in the chain (asyncpg's ``sqlstate``)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if getattr(current, "sqlstate", None) in _CONFLICT_STATES:
            return True
        current = current.__cause__ or current.__context__
    return False


def note_failure(what: str) -> None:
    global _down_since, _failures
    _failures += 1
    if _down_since is None:
        _down_since = time.monotonic()
        log.error("the database is not answering (%s); answering 503 until it is back", what)


def note_success() -> None:
    global _down_since, _failures
    if _down_since is not None:
        log.warning(
            "the database answers again after %.1f s (%d requests answered 503)",
            time.monotonic() - _down_since,
            _failures,
        )
        _down_since = None
        _failures = 0


def is_down() -> bool:
    return _down_since is not None
