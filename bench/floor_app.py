"""The FLOOR for the ingest benchmark: the least a stored message can cost.

One FastAPI endpoint, one plain INSERT and one COMMIT per request through
SQLAlchemy async, on the same kind of database and with the same engine
settings as Omniline (SQLite WAL + synchronous=NORMAL, or asyncpg with a pool
of 20). No auth, no conversation, no realtime. Served by uvicorn, 1 process:

    FLOOR_DATABASE_URL=sqlite+aiosqlite:////tmp/floor.db \
        .venv/bin/python -m uvicorn floor_app:app --app-dir bench --port 8100
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, Field
from sqlalchemy import Column, DateTime, Integer, MetaData, Table, Text, event, insert
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

URL = os.environ.get("FLOOR_DATABASE_URL", "sqlite+aiosqlite:///floor.db")

metadata = MetaData()
messages = Table(
    "floor_messages",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("text", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


def _engine() -> Any:
    if URL.startswith("sqlite"):
        engine = create_async_engine(URL)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(URL, pool_size=20, max_overflow=10, pool_pre_ping=True)


engine = _engine()
Session = async_sessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    yield
    await engine.dispose()


app = FastAPI(lifespan=lifespan)


class MessageIn(BaseModel):
    text: str = Field(min_length=1, max_length=10_000)
    client_id: str | None = None


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/messages", status_code=201)
async def post_message(body: MessageIn) -> dict[str, Any]:
    async with Session() as session:
        new_id = await session.scalar(
            insert(messages)
            .values(text=body.text, created_at=datetime.now(UTC))
            .returning(messages.c.id)
        )
        await session.commit()
    return {"id": new_id, "text": body.text}
