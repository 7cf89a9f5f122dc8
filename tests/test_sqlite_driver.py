"""The SQLite engine answers as SQLAlchemy's aiosqlite adapter does, with one trip to the
connection's thread per statement."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiosqlite
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from omniline.db import make_engine


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'd.db'}")
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE)"))
    yield engine
    await engine.dispose()


async def test_rows_counts_and_ids_come_back(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        inserted = await conn.execute(text("INSERT INTO t (name) VALUES ('a')"))
        assert inserted.lastrowid == 1
        await conn.execute(text("INSERT INTO t (name) VALUES (:n)"), [{"n": "b"}, {"n": "c"}])
        changed = await conn.execute(text("UPDATE t SET name = name || '!' WHERE id > 1"))
        assert changed.rowcount == 2
        returned = await conn.execute(text("INSERT INTO t (name) VALUES ('d') RETURNING id, name"))
        assert returned.all() == [(4, "d")]
    async with engine.connect() as conn:
        result = await conn.execute(text("SELECT id, name FROM t ORDER BY id"))
        assert list(result.keys()) == ["id", "name"]
        assert result.all() == [(1, "a"), (2, "b!"), (3, "c!"), (4, "d")]
        assert (await conn.execute(text("SELECT name FROM t WHERE id = 9"))).first() is None
        streamed = await conn.stream(text("SELECT name FROM t ORDER BY id"))
        assert [row[0] async for row in streamed] == ["a", "b!", "c!", "d"]


async def test_errors_are_the_databases_and_a_failed_statement_rolls_back(
    engine: AsyncEngine,
) -> None:
    with pytest.raises(IntegrityError):
        async with engine.begin() as conn:
            await conn.execute(text("INSERT INTO t (name) VALUES ('x')"))
            await conn.execute(text("INSERT INTO t (name) VALUES ('x')"))
    with pytest.raises(OperationalError, match="no such table"):
        async with engine.connect() as conn:
            await conn.execute(text("SELECT * FROM missing"))
    async with engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM t"))).scalar() == 0


async def test_a_statement_is_one_trip_to_the_connections_thread(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    trips: list[str] = []
    real = aiosqlite.Connection._execute

    async def counted(
        self: aiosqlite.Connection, fn: object, *args: object, **kw: object
    ) -> object:
        trips.append(getattr(fn, "__name__", repr(fn)))
        return await real(self, fn, *args, **kw)

    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))  # the connection is open and ready
        monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
        for i in range(5):
            await conn.execute(text("INSERT INTO t (name) VALUES (:n)"), {"n": f"n{i}"})
        assert (await conn.execute(text("SELECT count(*) FROM t"))).scalar() == 5
        assert len(trips) == 6
        await conn.commit()
