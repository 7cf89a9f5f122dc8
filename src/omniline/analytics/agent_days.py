"""Agent days: sums of fact rows per local day, agent and channel, for the agent leaderboard.

The 15-minute roll-ups keep no agent (1,500 agents would multiply their rows), so a report
by agent used to add up one fact row per conversation. Agent days hold one row per agent,
channel and local day of the workspace's zone: a month of 2,000,000 conversations and 1,500
agents is at most 1,500 × 30 × channels rows, and any day, week or month of that zone is a
whole run of them, DST days included. A report in another zone, by hour, or filtered by
anything else than agent and channel, reads the facts as before.

Exact like the roll-ups: ``delta`` takes a recomputed fact's old contribution out and puts
the new one in, in the same transaction (analytics/facts.py). When the workspace's zone
changes, ``rebuild`` cuts them again from the facts before the next report reads them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.analytics import rollups
from omniline.analytics.models import ROLLUP_SUMS, AgentDay, Fact, SyncState
from omniline.analytics.periods import bucket_of, local

Key = tuple[int, int, str]  # day (bucket of local midnight), agent (0 = nobody), channel
_KEYS = ("day", "agent_id", "channel")
# The fact filters and dimensions an agent day keeps.
FIELDS = frozenset({"agent_id", "channel"})


class Days:
    """Bucket -> the bucket of its local day's midnight, in one zone (memoised)."""

    def __init__(self, zone: ZoneInfo) -> None:
        self.zone = zone
        self._seen: dict[int, int] = {}

    def __call__(self, q: int) -> int:
        day = self._seen.get(q)
        if day is None:
            # The same instant periods.bounds() starts the day with (also where a DST
            # change skips midnight), so a range's bounds fall on day boundaries.
            start = datetime.combine(local(q, self.zone).date(), time(), self.zone)
            day = self._seen[q] = bucket_of(start)
        return day


def delta(old: Iterable[Any], new: Iterable[Any], days: Days) -> dict[Key, dict[str, float]]:
    """The change of every agent day when facts ``old`` are replaced by ``new``."""
    out: dict[Key, dict[str, float]] = {}
    for facts, sign in ((old, -1), (new, 1)):
        for f in facts:
            agent = (f.get("agent_id") if isinstance(f, Mapping) else f.agent_id) or 0
            for key, sums in rollups.contributions(f):
                row = out.setdefault((days(key[0]), agent, key[1]), {})
                for name, value in sums.items():
                    if value:
                        row[name] = row.get(name, 0.0) + sign * float(value)
    return {k: v for k, v in out.items() if any(v.values())}


async def zone_of(session: AsyncSession, workspace_id: int) -> str | None:
    """The zone the workspace's agent days are cut in; None when there are none."""
    state = await session.get(SyncState, workspace_id)
    return None if state is None else state.agent_zone


async def apply(
    session: AsyncSession, workspace_id: int, old: Iterable[Any], new: Iterable[Any]
) -> None:
    """Move the agent days from facts ``old`` to ``new`` (nothing while none are built)."""
    name = await zone_of(session, workspace_id)
    if name is None:
        return
    change = delta(old, new, Days(ZoneInfo(name)))
    await rollups.upsert(session, AgentDay, _KEYS, workspace_id, change)


async def start(session: AsyncSession, workspace_id: int, zone_name: str) -> None:
    """Empty agent days in ``zone_name``, to be filled by fact refreshes (a full rebuild)."""
    await session.execute(delete(AgentDay).where(AgentDay.workspace_id == workspace_id))
    await _set_zone(session, workspace_id, zone_name)


async def rebuild(session: AsyncSession, workspace_id: int, zone_name: str) -> int:
    """Cut the workspace's agent days again from its fact rows, in ``zone_name``; returns
    the number of rows."""
    from omniline.analytics.queries import PARTS

    await start(session, workspace_id, zone_name)
    days = Days(ZoneInfo(zone_name))
    rows: dict[Key, dict[str, float]] = {}
    agent = func.coalesce(Fact.agent_id, 0)
    for bucket, sums in PARTS:
        stmt = (
            select(bucket, agent, Fact.channel, *[c.label(n) for n, c in sums.items()])
            .where(Fact.workspace_id == workspace_id, bucket.is_not(None))
            .group_by(bucket, agent, Fact.channel)
        )
        for row in (await session.execute(stmt)).all():
            target = rows.setdefault((days(row[0]), row[1], row[2]), {})
            for n in sums:
                target[n] = target.get(n, 0.0) + float(getattr(row, n) or 0)
    values = [
        {"workspace_id": workspace_id, **dict(zip(_KEYS, key, strict=True))}
        | {n: sums.get(n, 0.0) for n in ROLLUP_SUMS}
        for key, sums in rows.items()
    ]
    for i in range(0, len(values), 5000):
        await session.execute(insert(AgentDay), values[i : i + 5000])
    return len(values)


async def _set_zone(session: AsyncSession, workspace_id: int, zone_name: str) -> None:
    state = await session.get(SyncState, workspace_id)
    if state is None:
        # Facts not caught up yet: from the epoch, the next catch-up re-reads everything.
        epoch = datetime(1970, 1, 1, tzinfo=UTC)
        session.add(SyncState(workspace_id=workspace_id, synced_at=epoch, agent_zone=zone_name))
    else:
        state.agent_zone = zone_name
    await session.flush()
