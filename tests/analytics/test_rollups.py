"""The roll-ups answer exactly what the fact rows answer, also after late changes that move
a conversation's figures between periods, queues and channels."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import update

from omniline import db
from omniline.analytics import queries, rollups, service
from omniline.analytics.schemas import Filters
from omniline.conversations.models import Conversation
from tests.analytics.log import Log, t

START, END = date(2026, 3, 27), date(2026, 4, 2)


async def both(monkeypatch: pytest.MonkeyPatch, log: Log) -> list[Any]:
    """Every roll-up-served report, computed from roll-ups and from facts."""
    out = []
    for use in (True, False):
        monkeypatch.setattr(queries, "USE_ROLLUPS", use)
        got = []
        async with db.unit_of_work() as session:
            ws = log.workspace_id
            for by in ("hour", "day"):
                got.append(await service.summary(session, ws, start=START, end=END, by=by))
            got.append(
                await service.summary(
                    session, ws, start=START, end=END, by="day", filters=Filters(channel="voice")
                )
            )
            got.append(
                await service.summary(
                    session, ws, start=START, end=END, by="day", tz="Asia/Kolkata",
                    filters=Filters(queue_id=log.queue),
                )
            )  # fmt: skip
            for dim in ("channel", "inbox", "queue", "team"):
                got.append(
                    await service.breakdown(session, ws, start=START, end=END, dimension=dim)  # type: ignore[arg-type]
                )
            got.append(await service.heatmap(session, ws, start=START, end=END))
            # Served by the agent days in the workspace's zone, from facts in another.
            for tz in (None, "Asia/Kolkata"):
                got.append(
                    await service.breakdown(
                        session, ws, start=START, end=END, dimension="agent", tz=tz
                    )
                )
            for by in ("day", "week"):
                got.append(
                    await service.summary(
                        session, ws, start=START, end=END, by=by,
                        filters=Filters(agent_id=log.agent),
                    )
                )  # fmt: skip
            got.append(
                await service.breakdown(
                    session, ws, start=START, end=END, dimension="channel",
                    filters=Filters(agent_id=log.agent2),
                )
            )  # fmt: skip
        out.append(got)
    return out


async def test_rollups_equal_facts_before_and_after_late_changes(
    monkeypatch: pytest.MonkeyPatch, log: Log
) -> None:
    served: list[str | None] = []
    real = queries._from_agent_days

    async def spy(*args: Any) -> Any:
        served.append(args[5])  # the dimension
        return await real(*args)

    monkeypatch.setattr(queries, "_from_agent_days", spy)
    rolled, facts = await both(monkeypatch, log)
    assert rolled == facts
    assert rolled[0]["total"]["conversations"] == 8
    # The leaderboard, the agent's days and weeks and agent2's channels came from agent days
    # (Kolkata's leaderboard from the facts).
    assert served == ["agent", None, None, "channel"]
    # Late: C5 resolved on 1 April and moved to another queue; C6 reopened.
    async with db.unit_of_work() as session:
        other = log.queue + 1
        await session.execute(
            update(Conversation)
            .where(Conversation.id == log.conv["C5"])
            .values(status="resolved", resolved_at=t(1, 10, month=4), queue_id=other)
        )
        await session.execute(
            update(Conversation)
            .where(Conversation.id == log.conv["C6"])
            .values(status="queued", resolved_at=None)
        )
        await service.refresh_conversations(
            session, log.workspace_id, [log.conv["C5"], log.conv["C6"]]
        )
    rolled, facts = await both(monkeypatch, log)
    assert rolled == facts
    queues = {r["key"]: r["metrics"]["conversations"] for r in rolled[6]}
    agents = {r["key"]: r["metrics"]["conversations"] for r in rolled[9]}
    # C1 and C5 are the agent's, C2 and C8 agent2's; the rest nobody's.
    assert agents == {log.agent: 2, log.agent2: 2, None: 4}
    assert queues == {log.queue: 7, log.queue + 1: 1}
    # C6 is open again: Sunday has no resolution left (C5's is on Wednesday).
    assert rolled[1]["periods"]["2026-03-29"]["resolved"] == 0
    assert rolled[1]["periods"]["2026-04-01"]["resolved"] == 1


async def test_rollups_rebuilt_from_facts_answer_the_same(
    monkeypatch: pytest.MonkeyPatch, log: Log
) -> None:
    before, _ = await both(monkeypatch, log)
    async with db.unit_of_work() as session:
        assert await rollups.rebuild(session, log.workspace_id) > 0
    after, facts = await both(monkeypatch, log)
    assert after == before == facts


async def test_agent_days_follow_the_workspace_to_another_zone(
    monkeypatch: pytest.MonkeyPatch, log: Log
) -> None:
    """Cut in Berlin's days, then the workspace moves to Kolkata: the next report cuts them
    again there, and reading Berlin's days now comes from the facts; both stay exact."""
    from omniline.analytics import agent_days
    from omniline.workspaces.models import Workspace

    before, facts = await both(monkeypatch, log)
    assert before == facts
    async with db.unit_of_work() as session:
        assert await agent_days.zone_of(session, log.workspace_id) == "Europe/Berlin"
        await session.execute(
            update(Workspace)
            .where(Workspace.id == log.workspace_id)
            .values(timezone="Asia/Kolkata")
        )
    moved, facts = await both(monkeypatch, log)
    assert moved == facts
    async with db.unit_of_work() as session:
        assert await agent_days.zone_of(session, log.workspace_id) == "Asia/Kolkata"
        berlin = await service.breakdown(
            session, log.workspace_id, start=START, end=END, dimension="agent",
            tz="Europe/Berlin",
        )  # fmt: skip
    assert berlin == before[9]
