"""Importing a month of a bank's calls, importing it again, and exporting it for BI.

    .venv/bin/python bench/bench_import.py [october.txt] [--db sqlite|postgres|both]

``../shared/data/anonymous-bank/october.txt`` (34,600 calls; OMNILINE_SHARED_DATA or the
first argument names it elsewhere) imported into a fresh database (SQLite file, and
PostgreSQL when one answers at BENCH_PG_DSN) as ``omniline import calls`` does: the time of
the first import, of a second one (everything already present), and of ``omniline export
bi`` for the 31 days in both formats. Goal (issue 12): the import well under a minute on
SQLite.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from _common import fresh_database, log, pg_available, print_machine, print_table, verdict

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from omniline import db
from omniline.bi.commands import export_workspace
from omniline.config import Settings, set_settings
from omniline.imports.commands import import_calls
from omniline.migrate import upgrade
from omniline.workspaces import service as workspaces

SHARED = Path(
    os.environ.get("OMNILINE_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)
OCTOBER = SHARED / "anonymous-bank" / "october.txt"
GOAL_S = 60.0


async def run(url: str, path: Path, tmp: Path) -> list[list[object]]:
    set_settings(Settings(database_url=url, secret_key="bench-" + "x" * 32, var_dir=tmp))
    db.init_engine()
    try:
        async with db.unit_of_work() as session:
            ws = await workspaces.do_create_workspace(session, name="Bank", slug="bank")
            ws.timezone = "Asia/Jerusalem"
        first = await import_calls(path, "bank", out=sys.stderr)
        again = await import_calls(path, "bank")
        days = [date(1999, 10, 1) + timedelta(days=n) for n in range(31)]
        t = time.perf_counter()
        result, _ = await export_workspace("bank", tmp / "bi", days, "both")
        export_s = time.perf_counter() - t
    finally:
        await db.dispose_engine()
    rate = first.imported / first.seconds if first.seconds else 0
    return [
        ["import (rows read / imported)", f"{first.rows:,} / {first.imported:,}", first.seconds],
        ["  calls per second", f"{rate:,.0f}", verdict(first.seconds < GOAL_S)],
        ["import again (all present)", f"{again.present:,} present", again.seconds],
        [
            "export 31 days, CSV + Parquet",
            f"{sum(result.rows.values()):,} rows, {len(result.files)} files",
            round(export_s, 2),
        ],
    ]


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    which = "both"
    if "--db" in sys.argv:
        which = sys.argv[sys.argv.index("--db") + 1]
        args = [a for a in args if a != which]
    path = Path(args[0]) if args else OCTOBER
    print_machine()
    if not path.is_file():
        print(f"no {path}: give the file, or set OMNILINE_SHARED_DATA")
        return
    kinds = ["sqlite", "postgres"] if which == "both" else [which]
    for kind in kinds:
        if kind == "postgres" and not pg_available():
            log("PostgreSQL not available; skipped")
            continue
        with (
            tempfile.TemporaryDirectory(prefix="bench-import-") as d,
            fresh_database(kind, Path(d), "import") as database,
        ):
            upgrade(database.url)
            rows = asyncio.run(run(database.url, path, Path(d)))
        print_table(f"{kind}: {path.name}", ["step", "count", "seconds"], rows)


if __name__ == "__main__":
    main()
