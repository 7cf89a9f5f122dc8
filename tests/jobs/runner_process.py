"""A separate OS process running a job runner whose jobs hang (the test kills it with -9).

python -m tests.jobs.runner_process DATABASE_URL LEASE_SECONDS
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from omniline import db
from omniline.config import Settings, set_settings
from omniline.jobs.registry import job
from omniline.jobs.runner import Runner


@job("test.takeover")
async def hang(session: AsyncSession, payload: dict[str, Any]) -> None:
    print("running", flush=True)
    await asyncio.sleep(3600)  # killed long before


async def main(url: str, lease: float) -> None:
    set_settings(Settings(database_url=url, secret_key="x" * 32, demo_mode=True))
    db.init_engine()
    runner = Runner(lease_seconds=lease)
    runner.start()
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], float(sys.argv[2])))
