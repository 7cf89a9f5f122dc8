"""Database engine, sessions, and the one place where a unit of work commits.

Side effects (realtime pushes, waking the job runner) are registered on the
session with :func:`after_commit` and run only once the commit succeeded, so a
rollback never leaves a ghost notification.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import NullPool

from omniline import sqlite_driver, sqlite_writers
from omniline.config import Settings, get_settings

log = logging.getLogger(__name__)

Hook = Callable[[], Awaitable[None] | None]

# How long a writer waits for SQLite's write lock, in this process's queue or in SQLite's busy
# handler, before it fails with "database is locked".
SQLITE_WAIT_SECONDS = 10.0

_engine: AsyncEngine | None = None
_sessionmaker: async_sessionmaker[AsyncSession] | None = None


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


def make_engine(url: str, pool_size: int = 20) -> AsyncEngine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            from pathlib import Path

            Path(path).parent.mkdir(parents=True, exist_ok=True)
        options: dict[str, Any] = {"poolclass": NullPool} if "memory" in url else {}
        if url.startswith("sqlite+aiosqlite:"):
            options["module"] = sqlite_driver.DBAPI()  # one thread trip per statement
        engine = create_async_engine(url, **options)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        sqlite_writers.install(engine.sync_engine, SQLITE_WAIT_SECONDS)
        return engine
    return create_async_engine(url, pool_size=pool_size, max_overflow=10, pool_pre_ping=True)


def init_engine(settings: Settings | None = None) -> AsyncEngine:
    global _engine, _sessionmaker
    # Every table is known before the first query: a foreign key to another domain's table
    # (inboxes.bot_flow_id -> bot_flows) resolves even in a script that imports one domain.
    import omniline.models  # noqa: F401

    settings = settings or get_settings()
    _engine = make_engine(settings.database_url, settings.db_pool_size)
    _sessionmaker = async_sessionmaker(_engine, expire_on_commit=False, autoflush=False)
    return _engine


def get_engine() -> AsyncEngine:
    if _engine is None:
        return init_engine()
    return _engine


def sessionmaker() -> async_sessionmaker[AsyncSession]:
    if _sessionmaker is None:
        init_engine()
    assert _sessionmaker is not None
    return _sessionmaker


async def dispose_engine() -> None:
    global _engine, _sessionmaker
    if _engine is not None:
        await _engine.dispose()
    _engine = None
    _sessionmaker = None


def after_commit(session: AsyncSession, hook: Hook) -> None:
    """Run ``hook`` after this session's next successful commit (dropped on rollback)."""
    session.info.setdefault("after_commit", []).append(hook)


async def commit(session: AsyncSession) -> None:
    """Commit the unit of work, then run its after-commit hooks in order."""
    await session.commit()
    hooks: list[Hook] = session.info.pop("after_commit", [])
    for hook in hooks:
        try:
            result = hook()
            if inspect.isawaitable(result):
                await result
        except Exception:
            # The data is committed; a failed push is recovered by clients re-reading.
            log.exception("after-commit hook failed")


async def rollback(session: AsyncSession) -> None:
    session.info.pop("after_commit", None)
    await session.rollback()


@asynccontextmanager
async def unit_of_work() -> AsyncIterator[AsyncSession]:
    """A session for jobs, CLI and websockets: commits on success, rolls back on error."""
    async with sessionmaker()() as session:
        try:
            yield session
            await commit(session)
        except BaseException:
            await rollback(session)
            raise


def sync_engine_of(engine: AsyncEngine) -> Engine:
    return engine.sync_engine
