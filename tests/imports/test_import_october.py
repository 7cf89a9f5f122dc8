"""The whole October 1999 file of the Anonymous Bank imported: the figures the reports
give for each day equal the ones computed here straight from the file's columns.

Definitions used here (docs/metrics.md, "Voice"), from the raw columns only:
- a row counts when it has 17 fields and its outcome is AGENT, HANG or PHANTOM;
- offered: AGENT rows, and HANG rows with a queue start (q_start not 0:00:00);
- day: the day of the queue entry, q_start (or vru_exit for an AGENT row without a queue
  step), a time before the menu entry by more than 12 hours being the next day;
- wait: q_time, 0 for an AGENT row without a queue step;
- answered: AGENT; abandoned: HANG; short abandoned: wait < 5 s;
- service level: answered with wait <= 20 s / (answered + abandoned - short abandoned);
- ASA: mean wait of the answered calls.
"""

from __future__ import annotations

import os
from collections import defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from omniline import db
from omniline.imports.commands import import_calls
from tests.imports.conftest import Bank

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"
OCTOBER = Path(os.environ.get("OMNILINE_SHARED_DATA", SHARED)) / "anonymous-bank" / "october.txt"
TZ = "Asia/Jerusalem"


def _seconds(text: str) -> int:
    h, m, s = (int(x) for x in text.split(":"))
    return h * 3600 + m * 60 + s


def expected_per_day(path: Path) -> dict[str, dict[str, Any]]:
    days: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    with path.open(encoding="latin-1") as f:
        next(f)
        for line in f:
            c = line.rstrip("\r\n").split("\t")
            if len(c) != 17 or c[12] not in ("AGENT", "HANG", "PHANTOM"):
                continue
            outcome, q_start = c[12], _seconds(c[9])
            if outcome == "PHANTOM" or (outcome == "HANG" and q_start == 0):
                continue
            entry = q_start or _seconds(c[7])
            day = date(1900 + int(c[5][:2]), int(c[5][2:4]), int(c[5][4:6]))
            if entry < _seconds(c[6]) - 43_200:
                day += timedelta(days=1)
            wait = int(c[11]) if q_start else 0
            d = days[day.isoformat()]
            d["offered"] += 1
            if outcome == "AGENT":
                d["answered"] += 1
                d["wait"] += wait
                d["in_time"] += wait <= 20
            else:
                d["abandoned"] += 1
                d["short"] += wait < 5
    out = {}
    for day, d in sorted(days.items()):
        handled = d["answered"] + d["abandoned"] - d["short"]
        out[day] = {
            "offered": int(d["offered"]),
            "answered": int(d["answered"]),
            "abandoned": int(d["abandoned"]),
            "service_level": round(d["in_time"] / handled, 4) if handled else None,
            "asa_s": round(d["wait"] / d["answered"], 1) if d["answered"] else None,
        }
    return out


@pytest.mark.skipif(not OCTOBER.is_file(), reason=f"no {OCTOBER} (shared data absent)")
# A month of calls (minutes on PostgreSQL): the figures do not depend on the database, and
# the import's PostgreSQL path is covered by the smaller files of test_import_calls.py.
@pytest.mark.sqlite_only
async def test_october_imports_and_reports_the_file_figures(bank: Bank) -> None:
    from omniline.analytics import service as analytics
    from omniline.analytics.schemas import Filters
    from omniline.channels.voice.stats import figures

    summary = await import_calls(OCTOBER, bank.slug, tz=TZ)
    assert summary.imported + summary.malformed == summary.rows
    assert summary.malformed == 2 and summary.present == 0

    expected = expected_per_day(OCTOBER)
    assert len(expected) == 31
    zone = ZoneInfo(TZ)
    got = {}
    async with db.sessionmaker()() as session:
        for day in expected:
            start = datetime.fromisoformat(day).replace(tzinfo=zone)
            end = (start + timedelta(days=1)).replace(tzinfo=zone)
            f = await figures(session, bank.workspace_id, start, end)
            got[day] = {k: f[k] for k in expected[day]}
        # The reports (analytics), whose facts the import refreshed batch by batch.
        report = await analytics.summary(
            session,
            bank.workspace_id,
            start=date(1999, 10, 1),
            end=date(1999, 10, 31),
            by="day",
            tz=TZ,
            filters=Filters(channel="voice"),
        )
    assert got == expected
    reported = {d: {k: p[k] for k in expected[d]} for d, p in report["periods"].items()}
    assert reported == expected
    assert report["total"]["offered"] == sum(d["offered"] for d in expected.values())
