"""`omniline import calls`, `omniline report summary` and `omniline export bi` as a person
runs them (real processes), on the small hand-written file."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq

from omniline.config import Settings
from tests.analytics.test_cli import omniline
from tests.imports.conftest import Bank
from tests.imports.test_import_calls import ROWS, write


async def test_import_report_and_export_from_the_command_line(
    settings: Settings, bank: Bank, tmp_path: Path
) -> None:
    path = write(tmp_path, ROWS)
    code, out, err = await omniline(settings, "import", "calls", str(path), "--workspace", "bank")
    assert code == 0, err
    assert "7 / 7 calls: 7 imported, 0 already present" in err  # progress
    assert "imported:         7" in out and "line 8: 16 fields instead of 17" in out
    code, out, err = await omniline(
        settings, "import", "calls", str(path), "--workspace", "bank", "--json"
    )
    assert code == 0, err
    again = json.loads(out)
    assert (again["imported"], again["present"], again["malformed"]) == (0, 7, 2)

    code, out, err = await omniline(
        settings, "report", "summary", "--workspace", "bank", "--from", "1999-10-01",
        "--to", "1999-10-01", "--by", "day", "--channel", "voice", "--json",
    )  # fmt: skip
    assert code == 0, err
    day = json.loads(out)["periods"]["1999-10-01"]
    # Offered: 1, 2 (straight from the menu), 3 and 4 (abandoned), 9; not 5 (menu), 6 (ghost).
    assert (day["offered"], day["answered"], day["abandoned"], day["short_abandoned"]) == (
        5,
        3,
        2,
        1,
    )
    # Answered within 20 s: call 2 (0 s) of 3 answered + 2 abandoned - 1 short.
    assert (day["service_level"], day["asa_s"]) == (0.25, 20.0)

    code, out, err = await omniline(
        settings, "export", "bi", "--workspace", "bank", "--out", str(tmp_path / "bi"),
        "--date", "1999-10-01", "--format", "parquet",
    )  # fmt: skip
    assert code == 0, err
    assert "1999-10-01 calls: 7 rows" in err
    assert "5 files written" in out
    assert pq.read_table(tmp_path / "bi" / "calls" / "1999-10-01.parquet").num_rows == 7

    for args, message in (
        (["import", "calls", str(tmp_path / "none.txt"), "--workspace", "bank"], "no file"),
        (["import", "calls", str(path), "--workspace", "nobody"], "no workspace"),
        (["import", "calls", str(path), "--workspace", "bank", "--tz", "Mars/Base"], "time zone"),
        (["export", "bi", "--workspace", "bank", "--out", "x", "--from", "1999-10-01"], "both"),
    ):
        code, _, err = await omniline(settings, *args)
        assert code in (1, 2) and message in err, (args, err)
