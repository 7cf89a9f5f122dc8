"""Writing jobs in the caller's transaction, and retrying failed ones by hand."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.db import after_commit
from omniline.errors import Conflict, NotFound
from omniline.jobs.models import Job, JobState
from omniline.kit.clock import utcnow
from omniline.ops.request_context import request_id

_wakers: list[Any] = []


def on_enqueue(waker: Any) -> None:
    """The in-process runner registers to be woken when a job is committed."""
    _wakers.append(waker)


def off_enqueue(waker: Any) -> None:
    if waker in _wakers:
        _wakers.remove(waker)


async def enqueue(
    session: AsyncSession,
    kind: str,
    payload: dict[str, Any],
    *,
    run_at: datetime | None = None,
    workspace_id: int | None = None,
    max_attempts: int = 8,
) -> Job:
    job = Job(
        kind=kind,
        payload=payload,
        workspace_id=workspace_id,
        run_at=run_at or utcnow(),
        max_attempts=max_attempts,
        request_id=request_id.get(),
    )
    session.add(job)
    wake_runners(session)
    return job


async def enqueue_many(
    session: AsyncSession, kind: str, jobs: list[tuple[dict[str, Any], datetime, int | None]]
) -> None:
    """Jobs of one kind, each ``(payload, run_at, workspace_id)``, in one INSERT.

    For callers that need no ``Job`` back (a batch of SLA checks): the unit of work
    would write them one by one on SQLite to learn their ids.
    """
    if not jobs:
        return
    rid = request_id.get()
    await session.execute(
        insert(Job),
        [
            {"kind": kind, "payload": p, "run_at": at, "workspace_id": ws, "request_id": rid}
            for p, at, ws in jobs
        ],
    )
    wake_runners(session)


def wake_runners(session: AsyncSession) -> None:
    """The in-process runner looks for due jobs once this transaction commits (a job was
    added, or an existing one was made due now)."""
    if session.info.get("jobs_wake") is None:
        session.info["jobs_wake"] = True

        def _wake() -> None:
            session.info.pop("jobs_wake", None)
            for waker in _wakers:
                waker()

        after_commit(session, _wake)


async def do_retry(session: AsyncSession, job_id: int) -> Job:
    job = await session.scalar(select(Job).where(Job.id == job_id))
    if job is None:
        raise NotFound("no such job")
    if job.state != JobState.failed.value:
        raise Conflict("only a failed job can be retried")
    job.state = JobState.pending.value
    job.attempts = 0
    job.run_at = utcnow()
    job.last_error = None
    return job


async def failed_jobs(session: AsyncSession, limit: int = 100) -> list[Job]:
    return list(
        await session.scalars(
            select(Job)
            .where(Job.state == JobState.failed.value)
            .order_by(Job.id.desc())
            .limit(limit)
        )
    )
