"""`omniline report summary` and `rebuild` as a person runs them (a real process)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

from omniline.config import Settings
from tests.analytics.log import Log

SRC = str(Path(__file__).resolve().parents[2] / "src")


async def omniline(settings: Settings, *args: str) -> tuple[int, str, str]:
    env = {
        **os.environ,
        "PYTHONPATH": SRC,
        "OMNILINE_DATABASE_URL": settings.database_url,
        "OMNILINE_SECRET_KEY": settings.secret_key,
        "OMNILINE_VAR_DIR": str(settings.var_dir),
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "omniline", *args, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    return proc.returncode or 0, out.decode(), err.decode()


async def test_summary_json_and_table(settings: Settings, log: Log) -> None:
    args = ["report", "summary", "--workspace", "demo", "--from", "2026-03-28"]
    code, out, err = await omniline(
        settings, *args, "--to", "2026-03-29", "--by", "day", "--channel", "voice", "--json"
    )
    assert code == 0, err
    report = json.loads(out)
    sat = report["periods"]["2026-03-28"]
    # The four calls of Saturday (tests/analytics/log.py): 1 / (2 + 2 - 1) within 20 s.
    assert (sat["offered"], sat["answered"], sat["abandoned"], sat["short_abandoned"]) == (
        4,
        2,
        2,
        1,
    )
    assert (sat["service_level"], sat["asa_s"], sat["abandon_rate"]) == (0.3333, 20.0, 0.3333)
    assert report["periods"]["2026-03-29"]["offered"] == 0  # chats only that day
    assert report["total"]["offered"] == 4 and report["tz"] == "Europe/Berlin"
    # Kolkata's 28 March is 18:30 UTC on the 27th to 18:30 on the 28th: the four calls.
    code, out, err = await omniline(settings, *args, "--to", "2026-03-28", "--tz", "Asia/Kolkata")
    assert code == 0, err
    assert "time zone Asia/Kolkata" in out
    total = next(line for line in out.splitlines() if line.strip().startswith("total"))
    # offered, answered, abandoned, short abandoned, service level, ASA
    assert total.split()[1:7] == ["4", "2", "2", "1", "0.3333", "20.0"]


async def test_rebuild_and_mistakes(settings: Settings, log: Log) -> None:
    code, out, err = await omniline(settings, "report", "rebuild", "--workspace", "demo")
    assert code == 0, err
    assert "rebuilt the figures of 8 conversations" in out
    assert "8 / 8 conversations" in err  # the progress line
    code, out, err = await omniline(settings, "report", "rebuild", "--workspace", "nope")
    assert code == 1 and "no workspace with the slug nope" in err
    code, out, err = await omniline(
        settings, "report", "summary", "--workspace", "demo", "--from", "2026-13-01",
        "--to", "2026-03-01",
    )  # fmt: skip
    assert code == 2 and "not a date" in err
