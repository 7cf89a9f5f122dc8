"""How conversations went through a flow, node by node: passed, ended, handed over, dropped."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.bots.models import BotSession, SessionStatus

OUTCOME = {
    SessionStatus.resolved.value: "ended",
    SessionStatus.handed_over.value: "handed_over",
    SessionStatus.dropped.value: "dropped",
    SessionStatus.active.value: "waiting",
}


async def funnel(session: AsyncSession, workspace_id: int, flow_id: int) -> dict[str, Any]:
    """Per node of the flow: conversations that passed it, and where each finished.

    A conversation counts once per node however often it passed it; it finishes at the last
    node of this flow on its path (``waiting``: still in the flow).
    """
    passed: Counter[str] = Counter()
    finished: dict[str, Counter[str]] = {}
    reasons: Counter[str] = Counter()
    total = 0
    prefix = f"{flow_id}:"
    rows = await session.execute(
        select(BotSession.path, BotSession.status, BotSession.outcome).where(
            BotSession.workspace_id == workspace_id, BotSession.flow_id == flow_id
        )
    )
    # Conversations count under the flow they started in; nodes of flows they jumped to
    # are in their path with those flows' ids and are left out here.
    for path, status, outcome in rows.all():
        mine = [p[len(prefix) :] for p in path or [] if isinstance(p, str) and p.startswith(prefix)]
        if not mine:
            continue
        total += 1
        passed.update(set(mine))
        finished.setdefault(mine[-1], Counter())[OUTCOME.get(status, status)] += 1
        if outcome:
            reasons[outcome] += 1
    nodes = [
        {"node": node, "passed": count, **dict(finished.get(node, Counter()))}
        for node, count in passed.most_common()
    ]
    return {"conversations": total, "nodes": nodes, "outcomes": dict(reasons)}
