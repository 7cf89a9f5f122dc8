"""Idempotency keys: a retried request finds what its first attempt stored.

The row that holds a key (unique in the database) is the first thing a request writes, in
the same transaction as everything else it does: a retry after a commit that the client did
not hear about finds it, a retry after a rollback does not.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy import delete, false
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.kit.models import Base

R = TypeVar("R", bound=Base)


async def insert_once(
    session: AsyncSession, row: R, find: Callable[[], Awaitable[R | None]]
) -> R | None:
    """Add ``row``, which carries a unique key; ``None`` when it was added.

    When another request with the same key committed first, its row (from ``find``): on
    PostgreSQL this insert waits for that request to end and is then refused; SQLite runs one
    writer at a time. Call it before the request writes anything else: a refused insert rolls
    back to a savepoint, not further.
    """
    if session.get_bind().dialect.name == "sqlite":
        # pysqlite opens a transaction only before a statement that changes data; a SAVEPOINT
        # outside one would be the transaction itself, and releasing it would commit the key
        # alone, before (and whatever becomes of) the rest of the request. This no-op DELETE
        # opens the request's transaction first.
        nothing = delete(type(row)).where(false())
        await session.execute(nothing.execution_options(synchronize_session=False))
    try:
        async with session.begin_nested():
            session.add(row)
            await session.flush()
    except IntegrityError:
        found = await find()
        if found is None:
            raise
        return found
    return None
