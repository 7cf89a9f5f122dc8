"""SQLite's write lock is taken in turn by this process's tasks: a writer waits for the one
before it to commit (not in SQLite's busy handler), in the order they asked; the turn comes
back on commit, rollback, error and cancellation; a task never waits for itself."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from omniline import sqlite_writers
from omniline.db import make_engine


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'w.db'}")
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, who TEXT)"))
    yield engine
    await engine.dispose()


async def _rows(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as conn:
        return [r[0] for r in await conn.execute(text("SELECT who FROM t ORDER BY id"))]


async def _hold(
    engine: AsyncEngine, who: str, wrote: asyncio.Event, release: asyncio.Event
) -> None:
    """Write ``who`` and keep the transaction open until ``release`` is set."""
    async with engine.begin() as conn:
        await conn.execute(text("INSERT INTO t (who) VALUES (:w)"), {"w": who})
        wrote.set()
        await release.wait()


def test_which_statements_take_the_lock() -> None:
    for sql in (
        "INSERT INTO t VALUES (1)",
        "  update t set who = 'x'",
        "DELETE FROM t",
        "REPLACE INTO t VALUES (1, 'a')",
        "-- a comment\nINSERT INTO t VALUES (2)",
        "/* why */ UPDATE t SET who = 'y'",
    ):
        assert sqlite_writers.is_write(sql), sql
    for sql in ("SELECT 1", "WITH x AS (SELECT 1) SELECT * FROM x", "PRAGMA journal_mode", ""):
        assert not sqlite_writers.is_write(sql), sql


async def test_writers_wait_for_the_commit_before_them_in_the_order_they_asked(
    engine: AsyncEngine,
) -> None:
    writers = sqlite_writers.writers_of(engine.sync_engine)
    assert writers is not None
    first_wrote = asyncio.Event()
    release_first = asyncio.Event()

    async def later(name: str) -> None:
        async with engine.begin() as conn:
            await conn.execute(text("INSERT INTO t (who) VALUES (:n)"), {"n": name})

    holder = asyncio.create_task(_hold(engine, "first", first_wrote, release_first))
    await first_wrote.wait()
    waiting = []
    for name in ("second", "third", "fourth"):
        waiting.append(asyncio.create_task(later(name)))
        await asyncio.sleep(0.01)  # each asks after the one before
    await asyncio.sleep(0.2)
    # Nobody got past the holder, and nobody failed: they wait in this process's queue.
    assert not any(t.done() for t in waiting)
    assert writers.waited == 3
    release_first.set()
    await asyncio.gather(holder, *waiting)
    assert await _rows(engine) == ["first", "second", "third", "fourth"]


async def test_reads_do_not_wait_for_a_writer(engine: AsyncEngine) -> None:
    wrote = asyncio.Event()
    done = asyncio.Event()

    task = asyncio.create_task(_hold(engine, "w", wrote, done))
    await wrote.wait()
    assert await _rows(engine) == []  # read beside the open write, which is not committed yet
    done.set()
    await task
    assert await _rows(engine) == ["w"]


@pytest.mark.parametrize("ending", ["rollback", "error", "cancelled"])
async def test_the_turn_comes_back_when_a_writer_gives_up(engine: AsyncEngine, ending: str) -> None:
    wrote = asyncio.Event()

    async def writer() -> None:
        async with engine.connect() as conn:
            await conn.execute(text("INSERT INTO t (who) VALUES ('lost')"))
            wrote.set()
            if ending == "rollback":
                await conn.rollback()
                return
            if ending == "error":
                raise RuntimeError("the handler failed")
            await asyncio.sleep(60)

    task = asyncio.create_task(writer())
    await wrote.wait()
    if ending == "cancelled":
        task.cancel()
    failed = pytest.raises((RuntimeError, asyncio.CancelledError))
    with failed if ending != "rollback" else contextlib.nullcontext():
        await task
    async with asyncio.timeout(5):  # would wait the whole 10 s lock timeout, then fail
        async with engine.begin() as conn:
            await conn.execute(text("INSERT INTO t (who) VALUES ('next')"))
    assert await _rows(engine) == ["next"]


async def test_a_writer_cancelled_while_waiting_leaves_the_queue(engine: AsyncEngine) -> None:
    wrote = asyncio.Event()
    release = asyncio.Event()

    async def impatient() -> None:
        async with engine.begin() as conn:
            await conn.execute(text("INSERT INTO t (who) VALUES ('impatient')"))

    first = asyncio.create_task(_hold(engine, "holder", wrote, release))
    await wrote.wait()
    gone = asyncio.create_task(impatient())
    await asyncio.sleep(0.05)
    gone.cancel()
    with pytest.raises(asyncio.CancelledError):
        await gone
    release.set()
    await first
    async with asyncio.timeout(5):
        async with engine.begin() as conn:
            await conn.execute(text("INSERT INTO t (who) VALUES ('after')"))
    assert await _rows(engine) == ["holder", "after"]


async def test_a_task_writing_on_a_second_connection_does_not_wait_for_itself(
    tmp_path: Path,
) -> None:
    """A unit of work inside another, both writing: SQLite's busy handler answers the inner
    one as before ("database is locked" after its timeout), instead of a wait for ever."""
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'n.db'}")

    def pragmas(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=300")
        cur.close()

    event.listen(engine.sync_engine, "connect", pragmas)
    sqlite_writers.install(engine.sync_engine, timeout=30.0)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, who TEXT)"))
        started = time.monotonic()
        async with asyncio.timeout(10):
            async with engine.begin() as outer:
                await outer.execute(text("INSERT INTO t (who) VALUES ('outer')"))
                with pytest.raises(OperationalError, match="database is locked"):
                    async with engine.begin() as inner:
                        await inner.execute(text("INSERT INTO t (who) VALUES ('inner')"))
        assert time.monotonic() - started < 10
        assert await _rows(engine) == ["outer"]
    finally:
        await engine.dispose()


async def test_a_writer_kept_waiting_too_long_fails_as_sqlite_would(tmp_path: Path) -> None:
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'l.db'}")
    sqlite_writers.install(engine.sync_engine, timeout=0.2)
    wrote = asyncio.Event()
    release = asyncio.Event()
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, who TEXT)"))

        task = asyncio.create_task(_hold(engine, "holder", wrote, release))
        await wrote.wait()
        with pytest.raises(OperationalError, match="database is locked"):
            async with engine.begin() as conn:
                await conn.execute(text("INSERT INTO t (who) VALUES ('late')"))
        release.set()
        await task
        assert await _rows(engine) == ["holder"]
    finally:
        await engine.dispose()
