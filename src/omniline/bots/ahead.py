"""A customer's question matched ahead of its turn.

A turn (``bots/turns.py``) runs in a job, under a lock of the conversation's bot session (on
SQLite, the database's write lock), and the job runner runs one job at a time. Matching the
question's FAQ intent is the slow part of a turn (an embedding: about 20 ms of CPU); inside
the turn, the lock was held meanwhile and turns could not overlap, so one process stopped at
about 25-30 turns/s with a core to spare.

So the question starts being matched once its message is committed: in the matcher thread
(``faq.match``, batched with other conversations' questions), beside the event loop and
before the job is even claimed. The turn waits for those matches before it takes the lock,
and uses one when the flow asks the matcher the same text for the same flow version. A match
depends only on (version, text), so it is what the turn would have found itself; what the
answer means for the flow is still decided by the turn, in order, under the lock.

Only in this process: a turn that another process runs (PostgreSQL with ``omniline worker``)
matches by itself, as does a question the flow asks where this guess said it would not.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.bots import faq
from omniline.bots.engine import Input, asks_faq
from omniline.bots.graph import Graph
from omniline.bots.models import BotFlowVersion, BotSession, SessionStatus
from omniline.db import after_commit, sessionmaker

log = logging.getLogger(__name__)

# Conversations with matches nobody took yet (their turn ran in another process, or the
# conversation left the bot): the oldest are forgotten beyond this.
MAX_CONVERSATIONS = 1000
MAX_REMEMBERED = 20_000

Found = tuple[Hashable, str, tuple[str | None, float]]  # version key, text, faq.match's answer


@dataclass
class _State:
    loop: asyncio.AbstractEventLoop | None = None
    pending: OrderedDict[int, list[asyncio.Task[Found | None]]] = field(default_factory=OrderedDict)
    # conversation id -> (version key, graph, node) where its last turn left the flow
    where: OrderedDict[int, tuple[Hashable, Graph, str | None]] = field(default_factory=OrderedDict)


_state = _State()


def _current() -> _State:
    global _state
    loop = asyncio.get_running_loop()
    if _state.loop is not loop:
        # A new event loop (tests): the tasks of the old one cannot be awaited here.
        _state = _State(loop)
    return _state


def _pending() -> OrderedDict[int, list[asyncio.Task[Found | None]]]:
    return _current().pending


def remember(
    session: AsyncSession, conversation_id: int, key: Hashable, graph: Graph, node: str | None
) -> None:
    """Where a turn left the flow, once committed: the next message of the conversation is
    matched ahead without reading the bot session (a stale guess only wastes a head start)."""

    def keep() -> None:
        where = _current().where
        where[conversation_id] = (key, graph, node)
        where.move_to_end(conversation_id)
        while len(where) > MAX_REMEMBERED:
            where.popitem(last=False)

    after_commit(session, keep)


def forget(conversation_id: int) -> None:
    _current().where.pop(conversation_id, None)


def start(session: AsyncSession, conversation_id: int, text: str) -> None:
    """Match ``text`` of a customer's message to the conversation once this transaction
    commits (nothing if it rolls back)."""
    if text.strip():
        after_commit(session, lambda: _begin(conversation_id, text))


def _begin(conversation_id: int, text: str) -> None:
    pending = _pending()
    task = asyncio.get_running_loop().create_task(_match(conversation_id, text), name="faq-ahead")
    pending.setdefault(conversation_id, []).append(task)
    pending.move_to_end(conversation_id)
    while len(pending) > MAX_CONVERSATIONS:
        _, forgotten = pending.popitem(last=False)
        for old in forgotten:
            old.cancel()


async def _match(conversation_id: int, text: str) -> Found | None:
    try:
        known = _current().where.get(conversation_id) or await _read(conversation_id)
        if known is None:
            return None
        key, graph, node = known
        if not asks_faq(graph, node, Input(text=text)):
            return None
        return key, text, await faq.match(key, graph, text)
    except asyncio.CancelledError:
        raise
    except Exception:  # the turn will match by itself, and report what goes wrong
        log.debug("matching ahead failed", exc_info=True)
        return None


async def _read(conversation_id: int) -> tuple[Hashable, Graph, str | None] | None:
    """Where the flow stands, from the database (no turn of it in this process yet)."""
    async with sessionmaker()() as session:
        row = (
            await session.execute(
                select(
                    BotSession.node,
                    BotSession.status,
                    BotFlowVersion.id,
                    BotFlowVersion.created_at,
                )
                .join(BotFlowVersion, BotFlowVersion.id == BotSession.version_id)
                .where(BotSession.conversation_id == conversation_id)
            )
        ).first()
        if row is None or row.status != SessionStatus.active.value:
            return None
        from omniline.bots.turns import cached_graph, graph_of

        key = (row.id, row.created_at.timestamp())
        graph = cached_graph(key)
        if graph is None:  # the version's graph is read once per process
            version = await session.get(BotFlowVersion, row.id)
            if version is None:
                return None
            graph = graph_of(version)
        return key, graph, row.node


async def ready(
    session: AsyncSession, conversation_id: int
) -> dict[tuple[Hashable, str], tuple[str | None, float]]:
    """The matches started for the conversation's messages, once done: (version key, text)
    -> ``faq.match``'s answer. Call it before taking the turn's lock. They are forgotten
    when the turn commits: a second job of the conversation running meanwhile (PostgreSQL
    runs turns side by side) waits for the same matches, whichever of the two gets the lock
    first, instead of matching again."""
    tasks = list(_pending().get(conversation_id) or ())
    if not tasks:
        return {}
    await asyncio.wait(tasks)

    def used() -> None:
        pending = _pending()
        left = [t for t in pending.get(conversation_id, ()) if t not in tasks]
        if left:
            pending[conversation_id] = left
        else:
            pending.pop(conversation_id, None)

    after_commit(session, used)
    out: dict[tuple[Hashable, str], tuple[str | None, float]] = {}
    for task in tasks:
        if task.cancelled() or task.exception() is not None:
            continue
        found = task.result()
        if found is not None:
            key, text, answer = found
            out[(key, text)] = answer
    return out
