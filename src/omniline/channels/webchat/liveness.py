"""Whether a widget or app customer is connected right now: ``contact_identities.live_until``.

Other parts ask "is the customer here?" without talking to the socket's process: the mobile
push webhook (only when the app is not connected) and the email fallback (the visitor left).
Each process keeps the ``live_until`` of its own visitors fresh:

- on connect: one UPDATE, ``live_until = now + 2 heartbeats``;
- then one UPDATE per heartbeat for all visitors of the process together (not per socket,
  never per message);
- on the last disconnect of a visitor in this process: ``live_until = now``, unless another
  process has pushed it further meanwhile (the visitor reconnected elsewhere).

A visitor whose contact no longer exists (merged into another) is refused with 4401, so the
widget renews its session and lands on the contact that absorbed it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime, timedelta

from omniline.config import get_settings
from omniline.contacts import repository as contacts_repo
from omniline.db import unit_of_work
from omniline.kit.clock import utcnow
from omniline.realtime.hub import VisitorConnection

log = logging.getLogger(__name__)

CHANNEL = "webchat"  # widget and mobile-app visitors are identities of this channel
CHUNK = 500


def _beat() -> float:
    return float(get_settings().heartbeat_seconds)


class Liveness:
    def __init__(self) -> None:
        self._conns: dict[int, set[VisitorConnection]] = {}
        self._written: dict[int, datetime] = {}
        self._task: asyncio.Task[None] | None = None
        self._busy = False

    @property
    def contact_ids(self) -> list[int]:
        return sorted(self._conns)

    async def connect(self, conn: VisitorConnection) -> bool:
        """Marks the visitor live; False when their contact is gone (merged away)."""
        cid = conn.visitor.contact_id
        until = utcnow() + timedelta(seconds=2 * _beat())
        try:
            alive = await _mark([cid], until)
            if cid not in alive and cid not in await _existing([cid]):
                return False
        except Exception:
            log.exception("could not mark visitor %s live", cid)
        self._conns.setdefault(cid, set()).add(conn)
        self._written[cid] = until
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._loop(), name="webchat-liveness")
        return True

    async def disconnect(self, conn: VisitorConnection) -> None:
        cid = conn.visitor.contact_id
        group = self._conns.get(cid)
        if group is not None:
            group.discard(conn)
            if group:
                return  # another socket of this visitor is still open here
            del self._conns[cid]
        written = self._written.pop(cid, None)
        if not self._conns and self._task is not None and not self._busy:
            # Only while it sleeps: a write cut off midway would spoil its pooled connection.
            # A busy loop ends by itself after this refresh (no visitors left).
            self._task.cancel()
            self._task = None
        if written is None:
            return
        try:
            await _mark_left(cid, written)
        except Exception:
            log.exception("could not mark visitor %s away", cid)

    async def refresh(self) -> None:
        """One heartbeat: every visitor of this process stays live; merged-away ones close."""
        ids = self.contact_ids
        until = utcnow() + timedelta(seconds=2 * _beat())
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start : start + CHUNK]
            alive = await _mark(chunk, until)
            missing = [cid for cid in chunk if cid not in alive]
            gone = set(missing) - await _existing(missing) if missing else set()
            for cid in chunk:
                if cid in self._written:
                    self._written[cid] = until
                if cid in gone:
                    for conn in list(self._conns.get(cid, ())):
                        conn.close()

    async def _loop(self) -> None:
        while self._conns:
            await asyncio.sleep(_beat())
            self._busy = True
            try:
                await self.refresh()
            except Exception:
                log.exception("refreshing widget liveness failed; trying again next heartbeat")
            finally:
                self._busy = False

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None


async def _mark(contact_ids: list[int], until: datetime) -> set[int]:
    async with unit_of_work() as session:
        return await contacts_repo.set_live_until(session, contact_ids, until, CHANNEL)


async def _existing(contact_ids: list[int]) -> set[int]:
    async with unit_of_work() as session:
        return await contacts_repo.existing_ids(session, contact_ids)


async def _mark_left(contact_id: int, written: datetime) -> None:
    async with unit_of_work() as session:
        await contacts_repo.clear_live_until(session, contact_id, CHANNEL, written, utcnow())


_liveness: Liveness | None = None
_loop: asyncio.AbstractEventLoop | None = None


def get_liveness() -> Liveness:
    """This process's tracker (a new event loop, as in tests, gets a new one)."""
    global _liveness, _loop
    loop = asyncio.get_running_loop()
    if _liveness is None or _loop is not loop:
        _liveness, _loop = Liveness(), loop
    return _liveness
