"""Contact-centre figures (docs/metrics.md): summary by period, breakdown by dimension,
load heatmap; keeping the fact rows they are read from up to date.

Every function takes the workspace id and trusts the caller's access check
(omniline.auth.access.report_agent_scope); none of them commits.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import delete, select, union
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.analytics import agent_days, facts, occupancy, queries, rollups, tally
from omniline.analytics.models import Fact, SyncState
from omniline.analytics.periods import BUCKET_S, bounds, local, period_keys, zone
from omniline.analytics.schemas import MAX_DAYS, METRICS, By, Dimension, Filters
from omniline.auth.models import User
from omniline.channels.voice.models import VoiceCall
from omniline.conversations.models import Conversation
from omniline.errors import Invalid, NotFound
from omniline.inboxes.models import Inbox
from omniline.kit.clock import utcnow
from omniline.surveys.models import SurveyAnswer
from omniline.workspaces.models import Queue, Team, Workspace

# Conversations active this long before the last catch-up are read again: a transaction
# that started before it may commit after it.
SLACK = timedelta(minutes=5)


FIRST_DAY, LAST_DAY = date(1971, 1, 1), date(2199, 12, 31)


def check_range(start: date, end: date) -> None:
    for name, day in (("from", start), ("to", end)):
        if not FIRST_DAY <= day <= LAST_DAY:
            raise Invalid(name, f"a date from {FIRST_DAY} to {LAST_DAY}")
    if start > end:
        raise Invalid("from", "the start date is after the end date")
    if (end - start).days + 1 > MAX_DAYS:
        raise Invalid("to", f"a report covers at most {MAX_DAYS} days")


async def workspace_zone(session: AsyncSession, workspace_id: int) -> str:
    name = await session.scalar(select(Workspace.timezone).where(Workspace.id == workspace_id))
    if name is None:
        raise NotFound("no such workspace")
    return name or "UTC"


async def summary(
    session: AsyncSession,
    workspace_id: int,
    *,
    start: date,
    end: date,
    by: By,
    tz: str | None = None,
    filters: Filters | None = None,
) -> dict[str, Any]:
    """Figures per local period of ``by`` from ``start`` to ``end`` (inclusive), every
    period present, and in total."""
    check_range(start, end)
    tz_name = tz or await workspace_zone(session, workspace_id)
    zi = zone(tz_name)
    await catch_up(session, workspace_id)
    lo, hi = bounds(start, end, zi)
    keys = period_keys(lo, hi, by, zi)
    periods: dict[str, tally.Sums] = {k: {} for k in keys.values()}
    total: tally.Sums = {}
    rows = await queries.grouped(
        session, workspace_id, lo, hi, filters, None, by_bucket=True, tz=tz_name, days=by != "hour"
    )
    for (q,), sums in rows:
        tally.merge(periods[keys[q]], sums)
        tally.merge(total, sums)
    busy = await occupancy.by_bucket(session, workspace_id, lo, hi, filters, now=utcnow())
    for q, sums in busy.items():
        tally.merge(periods[keys[q]], sums)
        tally.merge(total, sums)
    return {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "by": by,
        "tz": tz_name,
        "total": tally.figures(total),
        "periods": {k: tally.figures(s) for k, s in periods.items()},
    }


async def total(
    session: AsyncSession,
    workspace_id: int,
    *,
    start: date,
    end: date,
    tz: str,
    filters: Filters | None = None,
) -> dict[str, Any]:
    """The whole-range figures only (the "previous period" of a comparison)."""
    lo, hi = bounds(start, end, zone(tz))
    sums: tally.Sums = {}
    for _, got in await queries.grouped(
        session, workspace_id, lo, hi, filters, None, by_bucket=False, tz=tz, days=True
    ):
        tally.merge(sums, got)
    busy = await occupancy.grouped(
        session, workspace_id, lo * BUCKET_S, hi * BUCKET_S, filters, None, now=utcnow()
    )
    for got in busy.values():
        tally.merge(sums, got)
    return tally.figures(sums)


_NAMED: dict[str, Any] = {"inbox": Inbox, "queue": Queue, "team": Team, "agent": User}


async def breakdown(
    session: AsyncSession,
    workspace_id: int,
    *,
    start: date,
    end: date,
    dimension: Dimension,
    tz: str | None = None,
    filters: Filters | None = None,
) -> list[dict[str, Any]]:
    """One row per value of ``dimension`` that has any figure in the range, busiest first
    (a conversation with two tags is in both tags' rows; an agent or team with staffed time
    has a row for its occupancy)."""
    check_range(start, end)
    tz_name = tz or await workspace_zone(session, workspace_id)
    zi = zone(tz_name)
    await catch_up(session, workspace_id)
    lo, hi = bounds(start, end, zi)
    rows = await queries.grouped(
        session, workspace_id, lo, hi, filters, dimension, by_bucket=False, tz=tz_name, days=True
    )
    by_key: dict[Any, tally.Sums] = {}
    for (key,), sums in rows:
        tally.merge(by_key.setdefault(key, {}), sums)
    if dimension in occupancy.DIMENSIONS:
        # Agents (teams) with staffed time get a row even without a conversation: an idle
        # agent's occupancy of 0 is a figure too.
        busy = await occupancy.grouped(
            session, workspace_id, lo * BUCKET_S, hi * BUCKET_S, filters, dimension, now=utcnow()
        )
        for key, sums in busy.items():
            tally.merge(by_key.setdefault(key, {}), sums)
    labels = await _labels(session, workspace_id, dimension, [k for k in by_key if k is not None])
    out = [
        {
            "key": key,
            "label": labels.get(key, "" if key is None else str(key)),
            "metrics": tally.figures(s),
        }
        for key, s in by_key.items()
    ]
    out.sort(key=lambda r: (-r["metrics"]["conversations"], str(r["label"])))
    return out


async def _labels(
    session: AsyncSession, workspace_id: int, dimension: str, keys: list[Any]
) -> dict[Any, str]:
    model = _NAMED.get(dimension)
    if model is None or not keys:
        return {}
    rows = await session.execute(
        select(model.id, model.name).where(model.workspace_id == workspace_id, model.id.in_(keys))
    )
    return {k: name for k, name in rows.all()}


async def heatmap(
    session: AsyncSession,
    workspace_id: int,
    *,
    start: date,
    end: date,
    tz: str | None = None,
    filters: Filters | None = None,
    metric: str = "offered",
) -> list[list[int | float]]:
    """``[weekday (0 = Monday), local hour, value]`` for all 168 cells; a cell whose
    figure is undefined (no answered calls for ``asa_s``) has 0."""
    check_range(start, end)
    if metric not in METRICS:
        raise Invalid("metric", f"not a figure of docs/metrics.md: {metric}")
    zi = zone(tz or await workspace_zone(session, workspace_id))
    await catch_up(session, workspace_id)
    lo, hi = bounds(start, end, zi)
    cells: dict[tuple[int, int], tally.Sums] = {}
    rows = await queries.grouped(
        session, workspace_id, lo, hi, filters, None, by_bucket=True, tz=None, days=False
    )
    for (q,), sums in rows:
        at = local(q, zi)
        tally.merge(cells.setdefault((at.weekday(), at.hour), {}), sums)
    out: list[list[int | float]] = []
    for wd in range(7):
        for hour in range(24):
            value = tally.figures(cells.get((wd, hour), {}))[metric]
            out.append([wd, hour, value if value is not None else 0])
    return out


async def refresh_conversations(
    session: AsyncSession, workspace_id: int, conversation_ids: list[int]
) -> None:
    """Recompute the facts of these conversations (after bulk inserts or changes)."""
    await facts.refresh(session, workspace_id, conversation_ids)


async def rebuild(session: AsyncSession, workspace_id: int, progress: Any = None) -> int:
    """Recompute every fact of the workspace; ``progress(done, total)`` after each batch.
    Returns the number of conversations."""
    started = utcnow()
    ids = list(
        await session.scalars(
            select(Conversation.id).where(Conversation.workspace_id == workspace_id)
        )
    )
    await session.execute(delete(Fact).where(Fact.workspace_id == workspace_id))
    await rollups.clear(session, workspace_id)
    await agent_days.start(session, workspace_id, await workspace_zone(session, workspace_id))
    step = facts.BATCH * 4
    for i in range(0, len(ids), step):
        await facts.refresh(session, workspace_id, ids[i : i + step])
        if progress is not None:
            progress(min(i + step, len(ids)), len(ids))
    await _mark(session, workspace_id, started)
    return len(ids)


async def catch_up(session: AsyncSession, workspace_id: int) -> None:
    """Bring the facts up to date with what changed since the last read.

    Messages do not recompute facts on the hot path of a conversation: a report first
    re-reads the conversations whose activity, survey answers or calls are newer than the
    last catch-up (indexed look-ups), the listeners cover the rest (resolving, transfers)."""
    state = await session.get(SyncState, workspace_id)
    if state is None:
        await rebuild(session, workspace_id)
        return
    started = utcnow()
    since = state.synced_at - SLACK
    changed = union(
        select(Conversation.id).where(
            Conversation.workspace_id == workspace_id, Conversation.last_activity_at >= since
        ),
        select(SurveyAnswer.conversation_id).where(
            SurveyAnswer.workspace_id == workspace_id, SurveyAnswer.created_at >= since
        ),
        select(VoiceCall.conversation_id).where(
            VoiceCall.workspace_id == workspace_id, VoiceCall.queued_at >= since
        ),
    )
    ids = list(await session.scalars(select(changed.subquery().c[0])))
    await facts.refresh(session, workspace_id, ids)
    tz_name = await workspace_zone(session, workspace_id)
    if state.agent_zone != tz_name:  # never built, or the workspace moved to another zone
        await agent_days.rebuild(session, workspace_id, tz_name)
    await _mark(session, workspace_id, started)


async def _mark(session: AsyncSession, workspace_id: int, at: Any) -> None:
    state = await session.get(SyncState, workspace_id)
    if state is None:
        session.add(SyncState(workspace_id=workspace_id, synced_at=at))
    else:
        state.synced_at = at
    await session.flush()
