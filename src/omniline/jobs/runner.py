"""Claiming and running due jobs.

PostgreSQL: any number of runners claim rows with ``FOR UPDATE SKIP LOCKED``.
SQLite: one runner per database (the embedded default runs it in the server).
A claimed job holds a short lease (``locked_until``) that the runner renews every few seconds
while it holds the job; a runner that dies (kill -9, a lost host) stops renewing, and its jobs
are claimed again by another runner within one lease.

A runner runs up to ``job_concurrency`` jobs at once, claiming more as slots free up, so a
slow send does not hold up a due SLA timer. Jobs that may not overlap (one conversation's,
or the same work twice: see ``_lane``) still run one after another, in the order they were
due: the replies of a conversation leave in the order they were written.
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
from omniline.jobs.registry import GiveUp, RetryLater, handler_for
from omniline.kit import db_unavailable
from omniline.kit.clock import utcnow
from omniline.ops import metrics
from omniline.ops.request_context import request_id

log = logging.getLogger(__name__)

BATCH = 20


_VOLATILE = frozenset({"attempt", "manual"})


def _lane(kind: str, payload: Any) -> object:
    """Jobs that may not overlap run one after another, in the order they are due:

    - the jobs of one conversation (a ``conversation_id`` in the payload), whatever kind;
    - jobs of one kind about the same thing (the same ids in the payload: a survey request
      scheduled twice, a delivery retried); a kind's jobs without ids, one at a time.

    Handlers re-read state and are written for one run at a time: two runs of the same
    work at once would both see it undone."""
    if not isinstance(payload, dict):
        return (kind,)
    conv = payload.get("conversation_id")
    if isinstance(conv, int) and not isinstance(conv, bool):
        return ("conversation", conv)
    ids = tuple(
        sorted(
            (k, v)
            for k, v in payload.items()
            if k not in _VOLATILE and isinstance(v, int | str) and not isinstance(v, bool)
        )
    )
    return (kind, ids)


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
    lane: object


class Runner:
    def __init__(
        self,
        *,
        poll_seconds: float = 1.0,
        lease_seconds: float | None = None,
        concurrency: int | None = None,
    ) -> None:
        settings = get_settings()
        self.name = f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self.poll_seconds = poll_seconds
        self.lease = timedelta(seconds=lease_seconds or settings.job_lease_seconds)
        self.concurrency = max(1, concurrency or settings.job_concurrency)
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._renewer: asyncio.Task[None] | None = None
        self._held: set[int] = set()
        # The last job started in each lane (a conversation): the next one waits for it.
        self._lanes: dict[object, asyncio.Task[None]] = {}
        self._running: set[asyncio.Task[None]] = set()
        service.on_enqueue(self._wake.set)

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="job-runner")
        self._renewer = asyncio.create_task(self._renew_loop(), name="job-lease-renewer")

    async def stop(self) -> None:
        service.off_enqueue(self._wake.set)
        for task in (self._task, self._renewer, *self._running):
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
            self._wake.clear()
            free = self.concurrency - len(self._running)
            claimed = 0
            if free > 0:
                try:
                    due = await self._claim(free)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
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
                    for c in due:
                        self._start(c)
                    claimed = len(due)
            if claimed and claimed == free:
                continue  # there may be more due: claim again as soon as a slot frees
            # A finished job or a new one wakes the loop; the poll finds timers falling due.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_seconds)

    def _start(self, c: _Claimed, slots: asyncio.Semaphore | None = None) -> asyncio.Task[None]:
        """Run a claimed job as its own task, after the job before it in its lane."""
        job_id, lane = c.id, c.lane
        before = self._lanes.get(lane)

        async def run() -> None:
            try:
                if before is not None:
                    await asyncio.wait([before])  # its outcome is its own
                if slots is None:
                    await self._run_claimed(c)
                else:
                    async with slots:
                        await self._run_claimed(c)
            finally:
                self._held.discard(job_id)

        task = asyncio.create_task(run(), name=f"job-{job_id}")
        self._held.add(job_id)
        self._running.add(task)
        self._lanes[lane] = task

        def done(t: asyncio.Task[None]) -> None:
            self._running.discard(t)
            if self._lanes.get(lane) is t:
                del self._lanes[lane]
            exc = None if t.cancelled() else t.exception()
            if exc is not None and db_unavailable.is_database_unavailable(exc):
                # Its lease runs out and it is claimed again once the database is back.
                log.warning("job %s: the database went away while it ran", job_id)
            elif exc is not None:
                log.error("job %s: the runner failed", job_id, exc_info=exc)
            self._wake.set()

        task.add_done_callback(done)
        return task

    async def claim(self, limit: int = BATCH) -> list[int]:
        """Due jobs, now leased to this runner, in the order they are due."""
        return [c.id for c in await self._claim(limit)]

    async def _claim(self, limit: int) -> list[_Claimed]:
        """Due jobs, marked as this runner's, with what running them needs (no second read),
        in the order they are due."""
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
                .limit(limit)
            )
            if session.bind is not None and session.bind.dialect.name == "postgresql":
                due = due.with_for_update(skip_locked=True)
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
                    _lane(row.kind, row.payload),
                )
                for row in rows
            }
        return [found[i] for i in ids if i in found]

    async def run_due(self) -> int:
        """Claim one batch of due jobs and run it to the end (tests, `omniline jobs`)."""
        rows = await self._claim(BATCH)
        slots = asyncio.Semaphore(self.concurrency)
        started = [self._start(c, slots) for c in rows]
        if started:
            await asyncio.gather(*started, return_exceptions=True)
        return len(rows)

    async def _run_claimed(self, c: _Claimed) -> None:
        token = request_id.set(c.request_id)
        try:
            await self._run_one(c.id, c.kind, c.payload, c.attempts, c.max_attempts)
        finally:
            request_id.reset(token)

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
