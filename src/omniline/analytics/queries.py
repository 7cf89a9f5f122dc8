"""The grouped sums every report is made of: from the roll-ups when the question allows,
else from the fact rows."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from omniline.analytics import agent_days, rollups, tally
from omniline.analytics.models import ROLLUP_SUMS, AgentDay, Fact, Rollup
from omniline.analytics.schemas import Filters
from omniline.conversations.models import ConversationTag

# Each group of sums with the bucket column that assigns it to a period (docs/metrics.md).
PARTS: list[tuple[Any, dict[str, ColumnElement[Any]]]] = [
    (Fact.arrived_q, tally.ARRIVAL),
    (Fact.resolved_q, tally.RESOLUTION),
    (Fact.csat_q, tally.CSAT),
    (Fact.nps_q, tally.NPS),
]
FACT_COLUMNS: dict[str, Any] = {
    "channel": Fact.channel,
    "inbox": Fact.inbox_id,
    "queue": Fact.queue_id,
    "team": Fact.team_id,
    "agent": Fact.agent_id,
    "country": Fact.country,
    "language": Fact.language,
    "tag": ConversationTag.tag,
}
ROLLUP_COLUMNS: dict[str, Any] = {
    "channel": Rollup.channel,
    "inbox": Rollup.inbox_id,
    "queue": Rollup.queue_id,
    "team": Rollup.team_id,
}
AGENT_DAY_COLUMNS: dict[str, Any] = {"agent": AgentDay.agent_id, "channel": AgentDay.channel}
_FILTERS = ("channel", "inbox_id", "queue_id", "team_id", "agent_id", "country", "language")
# Set by tests to compare the two paths.
USE_ROLLUPS = True


def _given(filters: Filters | None) -> set[str]:
    if filters is None:
        return set()
    return {n for n in (*_FILTERS, "tag") if getattr(filters, n) is not None}


def _tagged(workspace_id: int, tag: str) -> Select[Any]:
    return select(ConversationTag.conversation_id).where(
        ConversationTag.workspace_id == workspace_id, ConversationTag.tag == tag
    )


def filtered(
    stmt: Select[Any], model: Any, workspace_id: int, filters: Filters | None
) -> Select[Any]:
    stmt = stmt.where(model.workspace_id == workspace_id)
    if filters is None:
        return stmt
    for name in _FILTERS:
        value = getattr(filters, name)
        if value is not None:
            stmt = stmt.where(getattr(model, name) == value)
    if filters.tag is not None:
        stmt = stmt.where(Fact.conversation_id.in_(_tagged(workspace_id, filters.tag)))
    return stmt


async def grouped(
    session: AsyncSession,
    workspace_id: int,
    lo: int,
    hi: int,
    filters: Filters | None,
    dimension: str | None,
    *,
    by_bucket: bool,
    tz: str | None,
    days: bool,
) -> list[tuple[tuple[Any, ...], tally.Sums]]:
    """``(group key, sums)`` pairs: the key is the dimension's value (if any), then the
    bucket when ``by_bucket``; each sum is assigned by its own timestamp's bucket.

    ``lo`` and ``hi`` bound local days of zone ``tz``; ``days`` says the caller needs no
    finer periods than days (with ``by_bucket``, a day's sums may then come on the bucket of
    its midnight)."""
    given = _given(filters)
    if (
        USE_ROLLUPS
        and given <= rollups.FIELDS
        and (dimension is None or dimension in ROLLUP_COLUMNS)
    ):
        return await _from_rollups(session, workspace_id, lo, hi, filters, dimension, by_bucket)
    if (
        USE_ROLLUPS
        and days
        and tz is not None
        and given <= agent_days.FIELDS
        and (dimension is None or dimension in AGENT_DAY_COLUMNS)
        and tz == await agent_days.zone_of(session, workspace_id)
    ):
        return await _from_agent_days(session, workspace_id, lo, hi, filters, dimension, by_bucket)
    return await _from_facts(session, workspace_id, lo, hi, filters, dimension, by_bucket)


async def _from_agent_days(
    session: AsyncSession,
    workspace_id: int,
    lo: int,
    hi: int,
    filters: Filters | None,
    dimension: str | None,
    by_bucket: bool,
) -> list[tuple[tuple[Any, ...], tally.Sums]]:
    return await _from_sums(
        session, AgentDay, AgentDay.day, AGENT_DAY_COLUMNS, ("agent",),
        workspace_id, lo, hi, filters, dimension, by_bucket,
    )  # fmt: skip


async def _from_rollups(
    session: AsyncSession,
    workspace_id: int,
    lo: int,
    hi: int,
    filters: Filters | None,
    dimension: str | None,
    by_bucket: bool,
) -> list[tuple[tuple[Any, ...], tally.Sums]]:
    return await _from_sums(
        session, Rollup, Rollup.bucket, ROLLUP_COLUMNS, ("queue", "team"),
        workspace_id, lo, hi, filters, dimension, by_bucket,
    )  # fmt: skip


async def _from_sums(
    session: AsyncSession,
    model: Any,
    bucket: Any,
    columns: dict[str, Any],
    zero_is_none: tuple[str, ...],
    workspace_id: int,
    lo: int,
    hi: int,
    filters: Filters | None,
    dimension: str | None,
    by_bucket: bool,
) -> list[tuple[tuple[Any, ...], tally.Sums]]:
    """Sums of a roll-up table (``bucket``: its time key); a key column cannot be NULL, so
    "none" is 0 there for the dimensions in ``zero_is_none``."""
    cols = [columns[dimension]] if dimension else []
    if by_bucket:
        cols.append(bucket)
    sums = [func.sum(getattr(model, n)).label(n) for n in ROLLUP_SUMS]
    stmt = select(*cols, *sums)
    stmt = filtered(stmt, model, workspace_id, filters)
    stmt = stmt.where(bucket >= lo, bucket < hi)
    if cols:
        stmt = stmt.group_by(*cols)
    out = []
    nullable = dimension in zero_is_none
    for row in (await session.execute(stmt)).all():
        key = tuple(row[: len(cols)])
        if nullable and key[0] == 0:
            key = (None, *key[1:])
        got: tally.Sums = {}
        tally.add(got, row, list(ROLLUP_SUMS))
        if got:
            out.append((key, got))
    return out


async def _from_facts(
    session: AsyncSession,
    workspace_id: int,
    lo: int,
    hi: int,
    filters: Filters | None,
    dimension: str | None,
    by_bucket: bool,
) -> list[tuple[tuple[Any, ...], tally.Sums]]:
    out: list[tuple[tuple[Any, ...], tally.Sums]] = []
    keys = [FACT_COLUMNS[dimension]] if dimension else []
    for bucket, sums in PARTS:
        cols = [*keys, bucket] if by_bucket else list(keys)
        labelled = [c.label(name) for name, c in sums.items()]
        stmt = select(*[c.label(f"k{i}") for i, c in enumerate(cols)], *labelled)
        if dimension == "tag":
            stmt = stmt.select_from(Fact).join(
                ConversationTag, ConversationTag.conversation_id == Fact.conversation_id
            )
        stmt = filtered(stmt, Fact, workspace_id, filters)
        stmt = stmt.where(bucket >= lo, bucket < hi)
        if cols:
            stmt = stmt.group_by(*cols)
        names = list(sums)
        for row in (await session.execute(stmt)).all():
            key = tuple(row[: len(cols)])
            got: tally.Sums = {}
            tally.add(got, row, names)
            out.append((key, got))
    return out
