"""Several assigners at once on PostgreSQL (coroutines on separate connections and two
OS processes, together with agents taking conversations by hand): never beyond
capacity, never two agents for one conversation."""

from __future__ import annotations

import asyncio
import sys
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select

from omniline import db
from omniline.auth.principal import Principal
from omniline.conversations.models import ConversationEvent
from omniline.errors import Conflict, NotFound
from omniline.presence import manual
from omniline.presence import repository as repo
from omniline.presence.assignment import run_queue
from tests.conftest import Demo
from tests.presence.helpers import add_waiting, make_agent, set_presence

ROOT = Path(__file__).resolve().parents[2]
AGENTS, CAP, WAITING = 12, 3, 80


async def _engine_loop(demo: Demo, q: int) -> int:
    total = 0
    for _ in range(6):
        async with db.unit_of_work() as session:
            total += len(await run_queue(session, demo.workspace_id, q, limit=4))
    return total


async def _take_loop(demo: Demo, q: int, agent: int) -> None:
    p = Principal(agent, demo.workspace_id, "agent", "A", "a@x", "en", frozenset({q}))
    for _ in range(5):
        try:
            async with db.unit_of_work() as session:
                await manual.do_take_next(session, p, q)
        except (Conflict, NotFound):
            pass


async def _process(url: str, demo: Demo, q: int) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.presence.assigner_process", url,
        str(demo.workspace_id), str(q), "8",
        cwd=ROOT, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip


async def test_concurrent_assigners_respect_capacity(
    demo: Demo, backend: str, database_url: str
) -> None:
    if backend != "postgres":
        pytest.skip("row locks across connections are what this test is about (PostgreSQL)")
    q = demo.queues["Tech support"]
    agents = [await make_agent(demo, f"Conc {i}", [q], chat=CAP) for i in range(AGENTS)]
    for a in agents:
        await set_presence(demo, a, "online")
    await add_waiting(demo, q, WAITING, waited_seconds=100)

    procs = [await _process(database_url, demo, q) for _ in range(2)]
    for proc in procs:
        assert proc.stdout is not None and proc.stdin is not None
        assert (await asyncio.wait_for(proc.stdout.readline(), 60)).strip() == b"ready"
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write(b"go\n")
        await proc.stdin.drain()
    await asyncio.gather(
        *(_engine_loop(demo, q) for _ in range(6)),
        *(_take_loop(demo, q, a) for a in agents[:3]),
    )
    for proc in procs:
        _out, err = await proc.communicate()
        assert proc.returncode == 0, err.decode()
    # Whatever the interleaving, a final run fills every free place.
    async with db.unit_of_work() as session:
        await run_queue(session, demo.workspace_id, q, limit=1000)

    async with db.sessionmaker()() as session:
        loads = await repo.loads(session, agents)
        assigned = list(
            await session.scalars(
                select(ConversationEvent.conversation_id).where(
                    ConversationEvent.type == "assigned"
                )
            )
        )
    assert all(loads[a]["chat"] <= CAP for a in agents), loads
    assert sum(loads[a]["chat"] for a in agents) == AGENTS * CAP
    twice = [c for c, n in Counter(assigned).items() if n > 1]
    assert twice == [], f"conversations assigned twice: {twice}"
