"""The durable SLA timer job: ``sla_check`` {timer_id}, due at a warning or due time."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from omniline.jobs.registry import job
from omniline.sla import timers


@job(timers.JOB_KIND)
async def sla_check(session: AsyncSession, payload: dict[str, Any]) -> None:
    """Re-reads the timer: answered, resolved or already fired makes it a no-op."""
    timer_id = payload.get("timer_id")
    if isinstance(timer_id, int):
        await timers.check(session, timer_id)
