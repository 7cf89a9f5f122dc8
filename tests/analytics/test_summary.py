"""Figures of the hand-written log (tests/analytics/log.py), worked out by hand."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import update

from omniline import db
from omniline.analytics import service
from omniline.analytics.schemas import METRICS, Filters
from omniline.conversations.models import Conversation
from tests.analytics.log import Log, t

START, END = date(2026, 3, 28), date(2026, 4, 1)


async def summary(log: Log, **kw: Any) -> dict[str, Any]:
    kw.setdefault("start", START)
    kw.setdefault("end", END)
    kw.setdefault("by", "day")
    async with db.unit_of_work() as session:
        return await service.summary(session, log.workspace_id, **kw)


def pick(figures: dict[str, Any], names: str) -> dict[str, Any]:
    return {n: figures[n] for n in names.split()}


async def test_days_in_the_workspace_zone(log: Log) -> None:
    got = await summary(log)
    assert (got["from"], got["to"], got["by"], got["tz"]) == (
        "2026-03-28",
        "2026-04-01",
        "day",
        "Europe/Berlin",
    )
    assert list(got["periods"]) == [
        "2026-03-28",
        "2026-03-29",
        "2026-03-30",
        "2026-03-31",
        "2026-04-01",
    ]
    for figures in [got["total"], *got["periods"].values()]:
        assert list(figures) == list(METRICS)
    sat, sun, mon, tue, wed = got["periods"].values()
    # Saturday, four calls: C1 answered after 10 s, C2 after 30 s, C3 hung up after 3 s
    # (short), C4 after 40 s.
    assert pick(sat, "offered answered abandoned short_abandoned conversations") == {
        "offered": 4,
        "answered": 2,
        "abandoned": 2,
        "short_abandoned": 1,
        "conversations": 4,
    }
    assert sat["service_level"] == 0.3333  # C1 only within 20 s: 1 / (2 + 2 - 1)
    assert sat["asa_s"] == 20.0  # (10 + 30) / 2
    assert sat["aht_s"] == 240.0  # C1 300 talk + 60 wrap-up, C2 120: (360 + 120) / 2
    assert sat["abandon_rate"] == 0.3333  # (2 - 1) / (4 - 1)
    assert sat["answer_rate"] == 0.5  # 2 / 4
    # Resolved when the calls ended; from creation (a minute before the queue) to the end:
    # C1 60+10+300 = 370, C2 60+30+120 = 210, C3 60+3 = 63, C4 60+40 = 100; 743 / 4
    assert (sat["resolved"], sat["resolution_s"], sat["resolution_rate"]) == (4, 185.8, 1.0)
    assert sat["new_contacts"] == 2  # C1 is contact A's first, C3 contact B's
    assert (sat["transfers"], sat["transfer_rate"]) == (1, 0.5)  # C2, of 2 answered
    # Surveys answered on Saturday: C1 csat 5 nps 10, C2 csat 3 nps 5.
    assert pick(sat, "csat csi csat_n nps nps_n") == {
        "csat": 0.5,  # 5 is a 4-5 answer, 3 is not
        "csi": 4.0,  # (5 + 3) / 2
        "csat_n": 2,
        "nps": 0.0,  # one promoter (10), one detractor (5): (1 - 1) / 2
        "nps_n": 2,
    }
    assert sat["frt_s"] is None and sat["art_s"] is None and sat["bot_containment"] is None
    # Sunday (the 23-hour day): C5 queued, assigned after 15 s; C6 queued, closed unassigned
    # after 10 minutes.
    assert pick(sun, "offered answered abandoned short_abandoned service_level asa_s") == {
        "offered": 2,
        "answered": 1,
        "abandoned": 1,
        "short_abandoned": 0,
        "service_level": 0.5,  # 1 / (1 + 1 - 0)
        "asa_s": 15.0,
    }
    assert sun["aht_s"] is None  # C5 is still open: its handling has not ended
    assert sun["frt_s"] == 60.0 and sun["frt_business_s"] == 60.0  # no calendar: 24/7
    assert sun["art_s"] == 120.0  # C5: 00:30 -> 00:31 is 60 s, 00:32 -> 00:35 is 180 s
    assert (sun["resolved"], sun["resolution_s"]) == (1, 600.0)  # C6 closed after 10 minutes
    assert (sun["resolution_rate"], sun["unresolved"], sun["unfinished"]) == (0.5, 1, 0)
    assert sun["messages_avg"] == 3.0  # (5 + 1) / 2
    assert sun["duration_avg_s"] == 450.0  # C5 300 s so far (00:30 -> 00:35), C6 600 s
    assert sun["sla_attainment"] == 0.5  # C5's timer met, C6's breached
    # Monday: the bot alone resolved C7; C8 went to an agent at once (0 s) and took 600 s.
    assert pick(mon, "bot_contained bot_containment offered service_level asa_s aht_s") == {
        "bot_contained": 1,
        "bot_containment": 0.5,
        "offered": 1,
        "service_level": 1.0,
        "asa_s": 0.0,
        "aht_s": 600.0,
    }
    assert mon["new_contacts"] == 1 and mon["resolution_s"] == 510.0  # (300 + 720) / 2
    assert tue["conversations"] == 0 and tue["service_level"] is None and tue["asa_s"] is None
    # C5's late survey answers count on the day they were given.
    assert pick(wed, "csat_n csat csi nps conversations") == {
        "csat_n": 1,
        "csat": 1.0,
        "csi": 4.0,
        "nps": 100.0,
        "conversations": 0,
    }
    total = got["total"]
    assert pick(total, "offered answered abandoned short_abandoned conversations") == {
        "offered": 7,
        "answered": 4,
        "abandoned": 3,
        "short_abandoned": 1,
        "conversations": 8,
    }
    assert total["service_level"] == 0.5  # C1, C5, C8 in time: 3 / (4 + 3 - 1)
    assert total["asa_s"] == 13.8  # (10 + 30 + 15 + 0) / 4 = 13.75
    assert total["aht_s"] == 360.0  # (360 + 120 + 600) / 3
    assert total["abandon_rate"] == 0.3333  # (3 - 1) / (7 - 1)
    assert (total["csat"], total["csi"], total["nps"]) == (0.6667, 4.0, 33.3)
    assert total["resolved"] == 7


async def test_a_conversation_resolved_three_days_later(log: Log) -> None:
    async with db.unit_of_work() as session:
        await session.execute(
            update(Conversation)
            .where(Conversation.id == log.conv["C5"])
            .values(status="resolved", resolved_at=t(1, 10, month=4))
        )
        await service.refresh_conversations(session, log.workspace_id, [log.conv["C5"]])
    got = await summary(log)
    sun, wed = got["periods"]["2026-03-29"], got["periods"]["2026-04-01"]
    # Arrival figures stay on Sunday, now with C5 resolved ...
    assert (sun["resolution_rate"], sun["unresolved"], sun["conversations"]) == (1.0, 0, 2)
    # ... the resolution counts on the day it happened: 00:30 Mar 29 -> 10:00 Apr 1 UTC.
    assert (wed["resolved"], wed["resolution_s"]) == (1, 3 * 86400 + 9.5 * 3600)
    assert sun["resolved"] == 1  # C6 only, as before
    assert got["total"]["resolved"] == 8


async def test_hours_of_the_spring_and_autumn_dst_days(log: Log) -> None:
    got = await summary(log, start=date(2026, 3, 29), end=date(2026, 3, 29), by="hour")
    keys = list(got["periods"])
    assert len(keys) == 23
    assert keys[:3] == [
        "2026-03-29T00:00:00+01:00",
        "2026-03-29T01:00:00+01:00",
        "2026-03-29T03:00:00+02:00",
    ]
    busy = {k: v["conversations"] for k, v in got["periods"].items() if v["conversations"]}
    assert busy == {"2026-03-29T01:00:00+01:00": 1, "2026-03-29T03:00:00+02:00": 1}
    autumn = await summary(log, start=date(2026, 10, 25), end=date(2026, 10, 25), by="hour")
    keys = list(autumn["periods"])
    assert len(keys) == 25
    assert keys[2:4] == ["2026-10-25T02:00:00+02:00", "2026-10-25T02:00:00+01:00"]


async def test_half_hour_zone_and_weeks_and_months(log: Log) -> None:
    got = await summary(
        log, start=date(2026, 3, 28), end=date(2026, 3, 28), by="hour", tz="Asia/Kolkata"
    )
    busy = {k: v["offered"] for k, v in got["periods"].items() if v["offered"]}
    # 08:00 and 08:10 UTC are 13:30 and 13:40 in Kolkata; 09:00 and 09:05 are 14:30, 14:35.
    assert busy == {"2026-03-28T13:00:00+05:30": 2, "2026-03-28T14:00:00+05:30": 2}
    weeks = await summary(log, by="week")
    # Saturday and Sunday are in the week of Monday 23 March; the rest in the next one.
    assert {k: v["conversations"] for k, v in weeks["periods"].items()} == {
        "2026-03-23": 6,
        "2026-03-30": 2,
    }
    months = await summary(log, by="month")
    assert {k: v["offered"] for k, v in months["periods"].items()} == {
        "2026-03-01": 7,
        "2026-04-01": 0,
    }


@pytest.mark.parametrize(
    ("field", "value", "conversations", "offered"),
    [
        ("channel", "voice", 4, 4),
        ("channel", "webchat", 4, 3),
        ("tag", "vip", 2, 2),
        ("country", "UA", 3, 3),
        ("language", "de", 3, 3),
        ("agent_id", "agent2", 2, 2),
        ("queue_id", "queue", 8, 7),
        ("team_id", "team", 8, 7),
        ("inbox_id", "voice_inbox", 4, 4),
        ("tag", "nothing", 0, 0),
    ],
)
async def test_filters(log: Log, field: str, value: str, conversations: int, offered: int) -> None:
    resolved = getattr(log, value, value) if field.endswith("_id") else value
    got = await summary(log, filters=Filters(**{field: resolved}))
    assert (got["total"]["conversations"], got["total"]["offered"]) == (conversations, offered)
