"""Claiming and running due jobs.

PostgreSQL: any number of runners claim rows with ``FOR UPDATE SKIP LOCKED``.
SQLite: one runner per database (the embedded default runs it in the server).
A claimed job holds a short lease (``locked_until``) that the runner renews every few seconds
while it holds the job; a runner that dies (kill -9, a lost host) stops renewing, and its jobs
are claimed again by another runner within one lease.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import traceback
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import or_, select, update

from omniline.config import get_settings
from omniline.db import sessionmaker, unit_of_work
from omniline.jobs import service
from omniline.jobs.models import Job, JobState
from omniline.jobs.registry import GiveUp, RetryLater, handler_for, runs_concurrently
from omniline.kit import db_unavailable
from omniline.kit.clock import utcnow
from omniline.ops import metrics
from omniline.ops.request_context import request_id

log = logging.getLogger(__name__)

BATCH = 20
CONCURRENCY = 8  # jobs of concurrent kinds running at once in one runner (PostgreSQL)


def backoff_seconds(attempts: int) -> float:
    """1 s, 4 s, 16 s, ... capped at one hour."""
    return float(min(4 ** max(attempts - 1, 0), 3600))


@dataclass(frozen=True)
class _Claimed:
    id: int
    kind: str
    payload: dict[str, Any]
    attempts: int
    max_attempts: int
    request_id: str


class Runner:
    def __init__(self, *, poll_seconds: float = 1.0, lease_seconds: float | None = None) -> None:
        self.name = f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self.poll_seconds = poll_seconds
        self.lease = timedelta(seconds=lease_seconds or get_settings().job_lease_seconds)
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._renewer: asyncio.Task[None] | None = None
        self._held: set[int] = set()
        # Jobs of kinds that allow it run beside each other: on PostgreSQL only (SQLite has one
        # writer, and a transaction that read before it writes fails if another wrote between).
        self._concurrent = False
        service.on_enqueue(self._wake.set)

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="job-runner")
        self._renewer = asyncio.create_task(self._renew_loop(), name="job-lease-renewer")

    async def stop(self) -> None:
        service.off_enqueue(self._wake.set)
        for task in (self._task, self._renewer):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def _renew_loop(self) -> None:
        """Keeps the leases of the jobs this runner holds fresh: a third of a lease apart."""
        every = self.lease.total_seconds() / 3
        failing = False
        while True:
            await asyncio.sleep(every)
            if not self._held:
                continue
            try:
                async with unit_of_work() as session:
                    await session.execute(
                        update(Job)
                        .where(
                            Job.id.in_(sorted(self._held)),
                            Job.state == JobState.running.value,
                            Job.locked_by == self.name,
                        )
                        .values(locked_until=utcnow() + self.lease)
                    )
            except asyncio.CancelledError:
                raise
            except Exception:
                if not failing:
                    log.warning("renewing job leases failed; retrying", exc_info=True)
                failing = True
            else:
                failing = False

    async def _loop(self) -> None:
        down_since: float | None = None
        while True:
            try:
                ran = await self.run_due()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                ran = 0
                if not db_unavailable.is_database_unavailable(exc):
                    log.exception("job runner iteration failed")
                elif down_since is None:
                    # One line per outage, as the web side does: not a traceback every poll.
                    down_since = time.monotonic()
                    log.error(
                        "job runner: the database is not answering (%s); trying every %g s",
                        type(exc).__name__,
                        self.poll_seconds,
                    )
            else:
                if down_since is not None:
                    log.warning(
                        "job runner: the database answers again after %.1f s",
                        time.monotonic() - down_since,
                    )
                    down_since = None
            if ran:
                continue
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_seconds)

    async def claim(self) -> list[int]:
        return [c.id for c in await self._claim()]

    async def _claim(self) -> list[_Claimed]:
        """Due jobs, marked as this runner's, with what running them needs (no second read)."""
        now = utcnow()
        async with unit_of_work() as session:
            due = (
                select(Job.id)
                .where(
                    or_(
                        Job.state == JobState.pending.value,
                        (Job.state == JobState.running.value) & (Job.locked_until < now),
                    ),
                    Job.run_at <= now,
                )
                .order_by(Job.run_at, Job.id)
                .limit(BATCH)
            )
            if session.bind is not None and session.bind.dialect.name == "postgresql":
                due = due.with_for_update(skip_locked=True)
                self._concurrent = True
            ids = list(await session.scalars(due))
            if not ids:
                return []
            rows = await session.execute(
                update(Job)
                .where(Job.id.in_(ids))
                .values(
                    state=JobState.running.value,
                    locked_by=self.name,
                    locked_until=now + self.lease,
                    attempts=Job.attempts + 1,
                )
                .returning(
                    Job.id, Job.kind, Job.payload, Job.attempts, Job.max_attempts, Job.request_id
                )
                .execution_options(synchronize_session=False)
            )
            found = {
                row.id: _Claimed(
                    row.id,
                    row.kind,
                    dict(row.payload),
                    row.attempts,
                    row.max_attempts,
                    row.request_id or f"job-{row.id}",
                )
                for row in rows
            }
        return [found[i] for i in ids if i in found]  # in the order they were due

    async def run_due(self) -> int:
        claimed = await self._claim()
        ids = [c.id for c in claimed]
        self._held.update(ids)
        try:
            beside = [c for c in claimed if self._concurrent and runs_concurrently(c.kind)]
            in_order = [c for c in claimed if c not in beside]
            if not beside:
                await self._one_by_one(in_order)
            else:
                # PostgreSQL: jobs that may overlap do (a bot's turn waits for its question's
                # match or for the database, and others go meanwhile); the rest one by one.
                limit = asyncio.Semaphore(CONCURRENCY)

                async def alone(c: _Claimed) -> None:
                    async with limit:
                        await self._one_by_one([c])

                results = await asyncio.gather(
                    self._one_by_one(in_order), *(alone(c) for c in beside), return_exceptions=True
                )
                for result in results:
                    if isinstance(result, BaseException):
                        raise result
        finally:
            self._held.difference_update(ids)
        return len(ids)

    async def _one_by_one(self, claimed: list[_Claimed]) -> None:
        for c in claimed:
            try:
                token = request_id.set(c.request_id)
                try:
                    await self._run_one(c.id, c.kind, c.payload, c.attempts, c.max_attempts)
                finally:
                    request_id.reset(token)
            finally:
                self._held.discard(c.id)

    async def run_one(self, job_id: int) -> None:
        async with sessionmaker()() as peek:
            job = await peek.get(Job, job_id)
            if job is None:
                return
            kind, payload, attempts, max_attempts, rid = (
                job.kind,
                dict(job.payload),
                job.attempts,
                job.max_attempts,
                job.request_id or f"job-{job.id}",
            )
        token = request_id.set(rid)
        try:
            await self._run_one(job_id, kind, payload, attempts, max_attempts)
        finally:
            request_id.reset(token)

    async def _run_one(
        self, job_id: int, kind: str, payload: dict[str, Any], attempts: int, max_attempts: int
    ) -> None:
        handler = handler_for(kind)
        error = ""
        delay = 0.0
        give_up = False
        if handler is None:
            error, delay = f"no handler for job kind {kind!r}", backoff_seconds(attempts)
        else:
            try:
                async with unit_of_work() as session:
                    await handler(session, payload)
                    # Done in the handler's own transaction: its work and the job's end are
                    # committed together (one transaction less per job, and a crash between
                    # the two can no longer run the job twice).
                    await session.execute(
                        update(Job)
                        .where(Job.id == job_id)
                        .values(
                            state=JobState.done.value,
                            finished_at=utcnow(),
                            last_error=None,
                            locked_by=None,
                            locked_until=None,
                        )
                        .execution_options(synchronize_session=False)
                    )
                return
            except RetryLater as exc:
                error, delay = str(exc), exc.seconds
            except GiveUp as exc:
                log.warning("job %s (%s) gave up: %s", job_id, kind, exc)
                error, give_up = str(exc)[:4000] or "gave up", True
            except Exception as exc:
                log.warning("job %s (%s) failed: %s", job_id, kind, exc)
                error = "".join(traceback.format_exception_only(exc)).strip()[:4000]
                delay = backoff_seconds(attempts)
        metrics.job_failures.labels(kind).inc()
        async with unit_of_work() as session:
            job = await session.get(Job, job_id)
            if job is None:
                return
            job.locked_by = None
            job.locked_until = None
            if attempts >= max_attempts or give_up:
                job.state = JobState.failed.value
                job.last_error = error
                job.finished_at = utcnow()
            else:
                job.state = JobState.pending.value
                job.last_error = error
                job.run_at = utcnow() + timedelta(seconds=delay)
