"""A worker killed with SIGKILL: its claimed jobs are run by another runner within seconds,
not after a five-minute lease."""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from omniline import db
from omniline.jobs.models import Job, JobState
from omniline.jobs.registry import job
from omniline.jobs.runner import Runner
from omniline.jobs.service import enqueue

ROOT = Path(__file__).resolve().parents[2]
LEASE = 2.0
done: list[int] = []


@job("test.takeover")
async def record(session: AsyncSession, payload: dict[str, Any]) -> None:
    done.append(int(payload["n"]))


async def test_a_killed_workers_jobs_are_taken_over_within_seconds(
    engine: None, database_url: str
) -> None:
    done.clear()
    async with db.unit_of_work() as session:
        for n in range(5):
            await enqueue(session, "test.takeover", {"n": n})
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.jobs.runner_process", database_url, str(LEASE),
        cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), 60)
    assert line.strip() == b"running", line
    # It holds the jobs, and keeps its leases fresh while it lives.
    await asyncio.sleep(LEASE * 1.5)
    survivor = Runner(lease_seconds=LEASE)
    assert await survivor.run_due() == 0
    proc.send_signal(signal.SIGKILL)
    await proc.wait()
    killed_at = time.monotonic()

    while not await survivor.run_due():
        assert time.monotonic() - killed_at < LEASE + 5, "the jobs were not taken over"
        await asyncio.sleep(0.2)
    while len(done) < 5 and time.monotonic() - killed_at < LEASE + 10:
        await survivor.run_due()
    assert sorted(done) == [0, 1, 2, 3, 4]
    async with db.sessionmaker()() as session:
        left = await session.scalar(
            select(func.count()).select_from(Job).where(Job.state != JobState.done.value)
        )
    assert left == 0
