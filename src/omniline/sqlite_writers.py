"""SQLite's one writer, taken in turn by this process's tasks instead of by polling.

SQLite lets one connection write at a time. Python's sqlite3 opens a transaction right
before a connection's first INSERT, UPDATE, DELETE or REPLACE, and that statement takes the
database's write lock until the commit or rollback. A connection that finds the lock taken
waits in SQLite's busy handler, which sleeps 1 to 100 ms between tries: under load the lock
often stands free while every waiter sleeps, and turns come in no particular order.

Here a connection of this process waits for an asyncio lock before its first write, in the
order the tasks asked, and gives it back when the connection goes back to the pool (after
its commit or rollback). The busy handler still guards against other processes (a CLI import
beside the server) and covers the one case the lock lets through: a task that already writes
on one connection and writes on a second one before the first commits (a unit of work inside
another) is not made to wait for itself; SQLite's busy handler answers it as it did before.

Only connections used through SQLAlchemy's asyncio engine on an event loop take part;
synchronous use (migrations run in their own process) is left as it was.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import sqlite3
import threading
import weakref
from typing import Any

from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.util.concurrency import await_only, in_greenlet

_KEY = "omniline_sqlite_writer"
# The statements before which sqlite3 (isolation_level "", the default) opens a transaction.
_WRITE = re.compile(
    r"^\s*(?:--[^\n]*\n\s*|/\*.*?\*/\s*)*(insert|update|delete|replace)\b", re.I | re.S
)


def is_write(statement: str) -> bool:
    return _WRITE.match(statement) is not None


class _Turns:
    """The lock of one event loop, and the task whose connection holds it."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.thread = threading.get_ident()
        self.lock = asyncio.Lock()
        self.owner: asyncio.Task[Any] | None = None

    def release(self) -> None:
        if threading.get_ident() == self.thread:
            self._release()
        else:  # a connection collected by the garbage collector in another thread
            with contextlib.suppress(RuntimeError):  # its loop is closed: nobody waits there
                self.loop.call_soon_threadsafe(self._release)

    def _release(self) -> None:
        self.owner = None
        if self.lock.locked():
            self.lock.release()


class Writers:
    """Install on an SQLite engine with :func:`install`; ``waited`` counts the waits (tests)."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.waited = 0
        self._turns: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Turns] = (
            weakref.WeakKeyDictionary()
        )

    def _for(self, loop: asyncio.AbstractEventLoop) -> _Turns:
        turns = self._turns.get(loop)
        if turns is None:
            turns = self._turns[loop] = _Turns(loop)
        return turns

    def before_execute(
        self,
        conn: Connection,
        _cursor: Any,
        statement: str,
        parameters: Any,
        _context: Any,
        _executemany: bool,
    ) -> None:
        info = conn.info
        if _KEY in info or not is_write(statement) or not in_greenlet():
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        turns = self._for(loop)
        task = asyncio.current_task()
        if task is not None and turns.owner is task:
            return  # the same task writes on a second connection: see the module's note
        if turns.lock.locked():
            self.waited += 1
        try:
            await_only(self._acquire(turns.lock))
        except TimeoutError:
            raise sa_exc.OperationalError(
                statement, parameters, sqlite3.OperationalError("database is locked")
            ) from None
        turns.owner = task
        info[_KEY] = turns

    async def _acquire(self, lock: asyncio.Lock) -> None:
        async with asyncio.timeout(self.timeout):
            await lock.acquire()


_installed: weakref.WeakKeyDictionary[Engine, Writers] = weakref.WeakKeyDictionary()


def install(engine: Engine, timeout: float) -> Writers:
    """Make ``engine``'s connections take the write lock in turn (SQLite engines only)."""
    writers = Writers(timeout)
    event.listen(engine, "before_cursor_execute", writers.before_execute)
    # After a commit or rollback the session gives its connection back: "reset" runs first.
    event.listen(engine.pool, "reset", _on_reset)
    event.listen(engine.pool, "checkin", _on_checkin)
    event.listen(engine.pool, "invalidate", _on_invalidate)
    event.listen(engine.pool, "soft_invalidate", _on_invalidate)
    _installed[engine] = writers
    return writers


def _release(record: Any) -> None:
    turns = record.info.pop(_KEY, None) if record is not None else None
    if turns is not None:
        turns.release()


def _on_reset(dbapi_connection: Any, connection_record: Any, reset_state: Any) -> None:
    _release(connection_record)


def _on_checkin(dbapi_connection: Any, connection_record: Any) -> None:
    _release(connection_record)


def _on_invalidate(dbapi_connection: Any, connection_record: Any, exception: Any) -> None:
    _release(connection_record)


def writers_of(engine: Engine) -> Writers | None:
    return _installed.get(engine)
