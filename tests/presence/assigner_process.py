"""A separate OS process that runs the assignment engine (used by the concurrency test).

python -m tests.presence.assigner_process DATABASE_URL WORKSPACE_ID QUEUE_ID ROUNDS
"""

from __future__ import annotations

import asyncio
import sys

from omniline import db
from omniline.config import Settings, set_settings
from omniline.presence.assignment import run_queue
from omniline.wiring import register_domains


async def main(url: str, workspace_id: int, queue_id: int, rounds: int) -> None:
    set_settings(Settings(database_url=url, secret_key="x" * 32, demo_mode=True))
    db.init_engine()
    register_domains()
    async with db.unit_of_work() as session:  # connect before the start signal
        await run_queue(session, workspace_id, -1)
    print("ready", flush=True)
    await asyncio.to_thread(sys.stdin.readline)  # the test starts everyone at once
    total = 0
    for _ in range(rounds):
        async with db.unit_of_work() as session:
            total += len(await run_queue(session, workspace_id, queue_id, limit=5))
    await db.dispose_engine()
    print(total)


if __name__ == "__main__":
    url, ws, q, rounds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    asyncio.run(main(url, ws, q, rounds))
