"""Every dimension of the breakdown, and the heatmap's figures, counted by hand from
tests/analytics/log.py."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from omniline import db
from omniline.analytics import service
from omniline.analytics.schemas import Filters
from tests.analytics.log import Log

START, END = date(2026, 3, 28), date(2026, 4, 1)


async def rows(log: Log, dimension: Any, **kw: Any) -> dict[Any, tuple[str, int, int]]:
    async with db.unit_of_work() as session:
        got = await service.breakdown(
            session, log.workspace_id, start=START, end=END, dimension=dimension, **kw
        )
    return {
        r["key"]: (r["label"], r["metrics"]["conversations"], r["metrics"]["offered"]) for r in got
    }


@pytest.mark.parametrize(
    ("dimension", "expected"),
    [
        # C1-C4 calls (all offered); C5-C8 chats, C7 never reached a person.
        ("channel", {"voice": ("voice", 4, 4), "webchat": ("webchat", 4, 3)}),
        ("inbox", {"voice_inbox": ("Hotline", 4, 4), "chat_inbox": ("Website chat", 4, 3)}),
        ("queue", {"queue": ("First line", 8, 7)}),
        ("team", {"team": ("Support team", 8, 7)}),
        # C1, C5 Anna's; C2, C8 Boris's; C3, C4 (abandoned), C6 (abandoned), C7 (bot) nobody's.
        (
            "agent",
            {"agent": ("Anna Agent", 2, 2), "agent2": ("Boris Agent", 2, 2), None: ("", 4, 3)},
        ),
        ("country", {"DE": ("DE", 3, 3), "UA": ("UA", 3, 3), None: ("", 2, 1)}),
        ("language", {"de": ("de", 3, 3), "uk": ("uk", 3, 3), None: ("", 2, 1)}),
        ("tag", {"vip": ("vip", 2, 2)}),
    ],
)
async def test_each_dimension(log: Log, dimension: str, expected: dict[Any, Any]) -> None:
    want = {
        getattr(log, k) if isinstance(k, str) and hasattr(log, k) else k: v
        for k, v in expected.items()
    }
    assert await rows(log, dimension) == want


async def test_breakdown_with_a_filter(log: Log) -> None:
    # Voice only: the agents' rows hold their calls, nobody's row the two abandoned calls.
    got = await rows(log, "agent", filters=Filters(channel="voice"))
    assert got == {
        log.agent: ("Anna Agent", 1, 1),
        log.agent2: ("Boris Agent", 1, 1),
        None: ("", 2, 2),
    }


async def test_heatmap_of_a_ratio(log: Log) -> None:
    async with db.unit_of_work() as session:
        cells = await service.heatmap(
            session, log.workspace_id, start=START, end=END, metric="service_level"
        )
    got = {(d, h): v for d, h, v in cells if v}
    # Saturday 09-10: C1 in 10 s, C2 in 30 s -> 1/2; 10-11: abandoned only (C3 short, C4
    # not): 0 / (0 + 2 - 1) = 0; Sunday 01: C5 in 15 s; Monday 13: C8 at once.
    assert got == {(5, 9): 0.5, (6, 1): 1.0, (0, 13): 1.0}
