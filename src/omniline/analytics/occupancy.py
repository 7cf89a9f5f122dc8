"""Occupancy's sums (docs/metrics.md, "occupancy") from the agents' state history.

``staffed_s``: seconds an agent was online, on a call or in wrap-up. ``busy_s``: the part of
those seconds in which they held at least one open chat, or were on a call or in wrap-up.
Both are additive, so a team's or a workspace's occupancy is the sum of the busy seconds over
the sum of the staffed seconds, and a day's sums are its buckets' sums. Each interval is
clipped to the period asked for and to now (an open interval counts until now).

Each report reads the intervals once, grouped in SQL: by agent or team for a breakdown, or by
the 15-minute buckets their clipped start and end fall in for a summary (a bucket pair's
seconds are spread over the buckets between them here, exactly: every local period is a
whole run of buckets, analytics/periods.py).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Float, Integer, case, cast, extract, func, literal_column, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from omniline.analytics import tally
from omniline.analytics.periods import BUCKET_S
from omniline.analytics.schemas import Filters
from omniline.presence.models import Presence, PresenceInterval
from omniline.workspaces.models import Team, TeamMember

STAFFED = (Presence.online.value, Presence.on_call.value, Presence.wrap_up.value)
ON_PHONE = (Presence.on_call.value, Presence.wrap_up.value)
# Filters of conversations: an agent's time is not split by channel, inbox, queue, country,
# language or tag, so under any of them occupancy is null. Agent and team filters pick agents.
_CONVERSATION_FILTERS = ("channel", "inbox_id", "queue_id", "country", "language", "tag")
# Breakdown dimensions that group agents.
DIMENSIONS = frozenset({"agent", "team"})


def applies(filters: Filters | None) -> bool:
    """Whether occupancy is defined under these filters (only agent and team ones)."""
    return filters is None or all(getattr(filters, n) is None for n in _CONVERSATION_FILTERS)


def _epoch(col: Any, pg: bool) -> ColumnElement[float]:
    """Seconds since the epoch of a UTC datetime column."""
    if pg:
        return cast(extract("epoch", col), Float)
    # SQLite keeps naive UTC text: Julian days to Unix seconds.
    return (func.julianday(col) - literal_column("2440587.5")) * literal_column("86400.0")


def _greatest(pg: bool, a: Any, b: Any) -> Any:
    return func.greatest(a, b) if pg else func.max(a, b)


def _least(pg: bool, a: Any, b: Any) -> Any:
    return func.least(a, b) if pg else func.min(a, b)


def _floor(pg: bool, x: Any) -> Any:
    # x >= 0 here: SQLite's cast truncates, which is the floor (PostgreSQL's would round).
    return func.floor(x) if pg else cast(x, Integer)


class _Window:
    """The instants [lo, hi) of a question as datetimes and as epoch seconds, hi at most now."""

    def __init__(self, lo_s: float, hi_s: float, now: datetime) -> None:
        self.lo_s = lo_s
        self.hi_s = min(hi_s, now.timestamp())
        self.lo = datetime.fromtimestamp(self.lo_s, UTC)
        self.hi = datetime.fromtimestamp(self.hi_s, UTC)

    @property
    def empty(self) -> bool:
        return self.hi_s <= self.lo_s


def _clipped(pg: bool, w: _Window) -> tuple[Any, Any, Any]:
    """Start and end of each interval clipped to the window, in seconds from its start, and
    whether the agent was busy along it (1 or 0)."""
    iv = PresenceInterval
    lo: Any = literal_column(repr(float(w.lo_s)))
    hi: Any = literal_column(repr(float(w.hi_s)))
    start = _greatest(pg, _epoch(iv.started_at, pg), lo) - lo
    end = _least(pg, func.coalesce(_epoch(iv.ended_at, pg), hi), hi) - lo
    busy = case((iv.handling.is_(True) | iv.status.in_(ON_PHONE), 1), else_=0)
    return start, end, busy


def _where(stmt: Any, workspace_id: int, w: _Window, filters: Filters | None) -> Any:
    iv = PresenceInterval
    stmt = stmt.where(
        iv.workspace_id == workspace_id,
        iv.status.in_(STAFFED),
        iv.started_at < w.hi,
        or_(iv.ended_at > w.lo, iv.ended_at.is_(None)),
    )
    if filters is not None and filters.agent_id is not None:
        stmt = stmt.where(iv.user_id == filters.agent_id)
    if filters is not None and filters.team_id is not None:
        stmt = stmt.where(
            iv.user_id.in_(select(TeamMember.user_id).where(TeamMember.team_id == filters.team_id))
        )
    return stmt


def _pg(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


async def grouped(
    session: AsyncSession,
    workspace_id: int,
    lo_s: float,
    hi_s: float,
    filters: Filters | None,
    dimension: str | None,
    *,
    now: datetime,
) -> dict[Any, tally.Sums]:
    """``{key: {"staffed_s", "busy_s"}}`` over the epoch seconds [lo_s, hi_s): the key is the
    agent's id (``dimension="agent"``), the team's id (``"team"``: its members now) or None
    (everyone). Empty when occupancy is not defined for the question."""
    if not applies(filters) or (dimension is not None and dimension not in DIMENSIONS):
        return {}
    w = _Window(lo_s, hi_s, now)
    if w.empty:
        return {}
    pg = _pg(session)
    start, end, busy = _clipped(pg, w)
    seconds = end - start
    sums = [
        func.sum(seconds).label("staffed_s"),
        func.sum(case((busy == 1, seconds), else_=literal_column("0.0"))).label("busy_s"),
    ]
    if dimension == "agent":
        key: Any = PresenceInterval.user_id
        stmt = select(key, *sums).group_by(key)
    elif dimension == "team":
        key = TeamMember.team_id
        stmt = (
            select(key, *sums)
            .select_from(PresenceInterval)
            .join(TeamMember, TeamMember.user_id == PresenceInterval.user_id)
            .join(Team, (Team.id == TeamMember.team_id) & (Team.workspace_id == workspace_id))
            .group_by(key)
        )
    else:
        stmt = select(literal_column("NULL").label("k"), *sums)
    out: dict[Any, tally.Sums] = {}
    for k, staffed, busy_s in (await session.execute(_where(stmt, workspace_id, w, filters))).all():
        if staffed:
            out[k] = {"staffed_s": float(staffed), "busy_s": float(busy_s or 0.0)}
    return out


async def by_bucket(
    session: AsyncSession,
    workspace_id: int,
    lo: int,
    hi: int,
    filters: Filters | None,
    *,
    now: datetime,
) -> dict[int, tally.Sums]:
    """``{bucket: {"staffed_s", "busy_s"}}`` for the buckets [lo, hi) (analytics/periods.py)."""
    if not applies(filters):
        return {}
    w = _Window(lo * BUCKET_S, hi * BUCKET_S, now)
    if w.empty:
        return {}
    pg = _pg(session)
    start, end, busy = _clipped(pg, w)
    size: Any = literal_column(f"{BUCKET_S}.0")
    inner = _where(
        select(
            busy.label("busy"),
            start.label("s"),
            end.label("e"),
            _floor(pg, start / size).label("qs"),
            _floor(pg, end / size).label("qe"),
        ),
        workspace_id,
        w,
        filters,
    ).subquery("clipped")
    stmt = select(
        inner.c.busy,
        inner.c.qs,
        inner.c.qe,
        func.count().label("n"),
        func.sum(inner.c.s).label("ss"),
        func.sum(inner.c.e).label("se"),
    ).group_by(inner.c.busy, inner.c.qs, inner.c.qe)
    span = hi - lo
    staffed = _Spread(span)
    busy_part = _Spread(span)
    for is_busy, qs, qe, n, ss, se in (await session.execute(stmt)).all():
        args = (int(qs), int(qe), int(n), float(ss), float(se))
        staffed.add(*args)
        if is_busy:
            busy_part.add(*args)
    out: dict[int, tally.Sums] = {}
    for i, (st, bz) in enumerate(zip(staffed.seconds(), busy_part.seconds(), strict=True)):
        if st > 0:
            out[lo + i] = {"staffed_s": st, "busy_s": bz}
    return out


class _Spread:
    """Seconds per bucket of groups of intervals given as (first bucket, last bucket, count,
    sum of starts, sum of ends), buckets and seconds counted from the window's start."""

    def __init__(self, span: int) -> None:
        self.part = [0.0] * (span + 1)
        self.whole = [0] * (span + 2)  # difference array of intervals covering a whole bucket

    def add(self, qs: int, qe: int, n: int, ss: float, se: float) -> None:
        size = BUCKET_S
        if qs == qe:
            self.part[qs] += se - ss
            return
        self.part[qs] += n * (qs + 1) * size - ss
        self.part[qe] += se - n * qe * size  # 0 when they end on the window's end
        self.whole[qs + 1] += n
        self.whole[qe] -= n

    def seconds(self) -> list[float]:
        out, running = [], 0
        for i in range(len(self.part) - 1):
            running += self.whole[i]
            out.append(self.part[i] + running * BUCKET_S)
        return out
