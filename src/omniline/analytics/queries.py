"""The grouped sums over fact rows that every report is made of."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from omniline.analytics import tally
from omniline.analytics.models import Fact
from omniline.analytics.schemas import Filters
from omniline.conversations.models import ConversationTag

# Each group of sums with the bucket column that assigns it to a period (docs/metrics.md).
PARTS: list[tuple[Any, dict[str, ColumnElement[Any]]]] = [
    (Fact.arrived_q, tally.ARRIVAL),
    (Fact.resolved_q, tally.RESOLUTION),
    (Fact.csat_q, tally.CSAT),
    (Fact.nps_q, tally.NPS),
]


def _tagged(workspace_id: int, tag: str) -> Select[Any]:
    return select(ConversationTag.conversation_id).where(
        ConversationTag.workspace_id == workspace_id, ConversationTag.tag == tag
    )


def filtered(stmt: Select[Any], workspace_id: int, filters: Filters | None) -> Select[Any]:
    stmt = stmt.where(Fact.workspace_id == workspace_id)
    if filters is None:
        return stmt
    for name in ("channel", "inbox_id", "queue_id", "team_id", "agent_id", "country", "language"):
        value = getattr(filters, name)
        if value is not None:
            stmt = stmt.where(getattr(Fact, name) == value)
    if filters.tag is not None:
        stmt = stmt.where(Fact.conversation_id.in_(_tagged(workspace_id, filters.tag)))
    return stmt


async def grouped(
    session: AsyncSession,
    workspace_id: int,
    lo: int,
    hi: int,
    filters: Filters | None,
    keys: list[ColumnElement[Any]],
    *,
    by_bucket: bool,
    join_tags: bool = False,
) -> list[tuple[tuple[Any, ...], tally.Sums]]:
    """``(group key, sums)`` pairs: the key is ``keys``' values, then the bucket when
    ``by_bucket``; each part of the sums is assigned by its own bucket column."""
    out: list[tuple[tuple[Any, ...], tally.Sums]] = []
    for bucket, sums in PARTS:
        cols = [*keys, bucket] if by_bucket else list(keys)
        labelled = [c.label(name) for name, c in sums.items()]
        stmt = select(*[c.label(f"k{i}") for i, c in enumerate(cols)], *labelled)
        if join_tags:
            stmt = stmt.select_from(Fact).join(
                ConversationTag, ConversationTag.conversation_id == Fact.conversation_id
            )
        stmt = filtered(stmt, workspace_id, filters)
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
