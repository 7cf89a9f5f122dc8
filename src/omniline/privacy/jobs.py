"""The durable retention job: one per workspace, re-queued by itself.

A sweep anonymises up to ``SWEEP_BATCH`` conversations and queues the next sweep at
once when more are due, else in a day. It stops when the setting is cleared. As a
job it survives restarts and is retried on failure like any other.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from omniline.jobs.registry import job
from omniline.privacy import service

DAY_S = 86_400.0


@job(service.SWEEP)
async def retention_sweep(session: AsyncSession, payload: dict[str, Any]) -> None:
    workspace_id = int(payload["workspace_id"])
    _, more = await service.sweep(session, workspace_id)
    if await service.retention_of(session, workspace_id) is not None:
        await service.ensure_sweep(session, workspace_id, 0 if more else DAY_S)
