"""The process's realtime bus and hub, and publishing after commit."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from omniline.db import after_commit
from omniline.realtime.bus import Bus, MemoryBus, make_bus
from omniline.realtime.events import RealtimeEvent
from omniline.realtime.hub import Hub


class Realtime:
    def __init__(self, bus: Bus) -> None:
        self.bus = bus
        self.hub = Hub()
        bus.listen(self.hub.dispatch)
        bus.on_gap(self.hub.resync_all)

    async def start(self) -> None:
        await self.bus.start()

    async def stop(self) -> None:
        await self.bus.stop()


_realtime: Realtime | None = None


def init_realtime(redis_url: str | None, buffer_size: int) -> Realtime:
    global _realtime
    _realtime = Realtime(make_bus(redis_url, buffer_size))
    return _realtime


def get_realtime() -> Realtime:
    global _realtime
    if _realtime is None:
        # Jobs and CLI commands outside the web app still publish to something.
        _realtime = Realtime(MemoryBus(1000))
    return _realtime


def publish_on_commit(session: AsyncSession, *events: RealtimeEvent) -> None:
    """Queue events to go out once the session commits; a rollback drops them."""
    pending: list[RealtimeEvent] | None = session.info.get("realtime_pending")
    if pending is None:
        pending = []
        session.info["realtime_pending"] = pending

        async def _flush() -> None:
            batch = session.info.pop("realtime_pending", [])
            await get_realtime().bus.publish(batch)

        after_commit(session, _flush)
    pending.extend(events)
