"""Open staff sockets follow access as it changes: within a second, in every process.

Once a second each web process asks the database, in one query, about the sessions behind its
open staff sockets. A socket whose session was ended (logout everywhere, password or role
change, deactivation) or expired is closed with code 4401; one whose workspace's memberships
changed since it was opened gets the queues it may now see. Working from the database rather
than from a message means a change made anywhere (another process, the CLI) is seen, with or
without Redis.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections import defaultdict
from datetime import UTC, datetime

from sqlalchemy import select

from omniline import db
from omniline.auth import access
from omniline.auth.models import AuthToken, User
from omniline.realtime.hub import Hub, StaffConnection
from omniline.workspaces.models import Workspace

log = logging.getLogger(__name__)

SIGNED_OUT = "your session has ended; sign in again"
CHUNK = 500


async def check_once(hub: Hub) -> None:
    conns = [c for c in hub.staff_connections() if not c.closed]
    if not conns:
        return
    token_ids = sorted({c.principal.token_id for c in conns if c.principal.token_id is not None})
    rows = {}
    async with db.sessionmaker()() as session:
        for start in range(0, len(token_ids), CHUNK):
            chunk = token_ids[start : start + CHUNK]
            result = await session.execute(
                select(
                    AuthToken.id,
                    AuthToken.revoked_at,
                    AuthToken.expires_at,
                    User.active,
                    User.role,
                    Workspace.access_changed_at,
                )
                .join(User, User.id == AuthToken.user_id)
                .join(Workspace, Workspace.id == User.workspace_id)
                .where(AuthToken.id.in_(chunk))
            )
            rows.update({row[0]: row for row in result})
        now = datetime.now(UTC)
        stale: dict[int, list[StaffConnection]] = defaultdict(list)
        for conn in conns:
            row = rows.get(conn.principal.token_id or 0)
            if (
                row is None
                or row.revoked_at is not None
                or (row.expires_at is not None and row.expires_at <= now)
                or not row.active
                or row.role != conn.principal.role
            ):
                conn.end(4401, SIGNED_OUT)
            elif row.access_changed_at is not None and (
                row.access_changed_at.timestamp() >= conn.loaded_at
            ):
                stale[conn.principal.user_id].append(conn)
        for user_id, group in stale.items():
            loaded_at = time.time()
            user = await session.get(User, user_id)
            if user is None:
                continue
            queue_ids = await access.visible_queue_ids(session, user)
            for conn in group:
                conn.principal = dataclasses.replace(conn.principal, queue_ids=queue_ids)
                conn.loaded_at = loaded_at


class SessionWatch:
    def __init__(self, hub: Hub, every: float) -> None:
        self.hub = hub
        self.every = every
        self._task: asyncio.Task[None] | None = None
        self._failing = False

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="session-watch")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.every)
            try:
                await check_once(self.hub)
            except Exception:
                # The database is away: sockets keep what they have; one line per outage.
                if not self._failing:
                    log.exception("checking the sessions of open sockets failed")
                self._failing = True
            else:
                if self._failing:
                    log.info("checking the sessions of open sockets works again")
                self._failing = False
