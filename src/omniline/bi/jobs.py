"""The durable nightly export job, and a loop that makes sure each workspace has one."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from omniline import db
from omniline.bi import service
from omniline.config import get_settings
from omniline.jobs.registry import job
from omniline.kit.background import register_background

CHECK_EVERY_S = 3600.0


@job(service.NIGHTLY)
async def bi_export(session: AsyncSession, payload: dict[str, Any]) -> None:
    await service.run_nightly(
        session, int(payload["workspace_id"]), date.fromisoformat(str(payload["day"]))
    )


async def keep_scheduled() -> None:
    """New workspaces get their job within the hour; nothing to do without a directory."""
    if get_settings().bi_export_dir is None:
        return
    while True:
        async with db.unit_of_work() as session:
            await service.ensure_all(session)
        await asyncio.sleep(CHECK_EVERY_S)


def register() -> None:
    register_background("bi-export", keep_scheduled)
