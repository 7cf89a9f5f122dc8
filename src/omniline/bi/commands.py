"""``omniline export bi --workspace SLUG --out DIR [--date D | --from D --to D] [--format F]``."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any, TextIO

MAX_DAYS = 3660


def days_between(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


async def export_workspace(
    slug: str, out: Path, days: list[date] | None, fmt: str, progress: TextIO | None = None
) -> tuple[Any, list[date]]:
    """Export the given days (None: yesterday in the workspace's zone). The database engine
    must be initialised."""
    from omniline import db
    from omniline.bi.export import export_days, formats_of
    from omniline.bi.service import workspace_zone, yesterday
    from omniline.errors import NotFound
    from omniline.workspaces import repository

    async with db.unit_of_work() as session:
        ws = await repository.by_slug(session, slug)
        if ws is None:
            raise NotFound(f"no workspace with the slug {slug}")
        tz = workspace_zone(ws)
        chosen = days or [yesterday(tz)]

        def say(text: str) -> None:
            if progress is not None:
                print(text, file=progress, flush=True)

        result = await export_days(session, ws.id, chosen, tz, out, formats_of(fmt), say)
    return result, chosen


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from exc


def cmd_export_bi(args: argparse.Namespace) -> int:
    from omniline import db
    from omniline.config import Settings, set_settings
    from omniline.errors import DomainError

    if args.date and (args.start or args.end):
        print("error: give --date, or --from and --to, not both", file=sys.stderr)
        return 2
    days: list[date] | None = None
    if args.date:
        days = [args.date]
    elif args.start or args.end:
        if not (args.start and args.end):
            print("error: give both --from and --to", file=sys.stderr)
            return 2
        if args.end < args.start:
            print("error: --to is before --from", file=sys.stderr)
            return 2
        days = days_between(args.start, args.end)
        if len(days) > MAX_DAYS:
            print(f"error: at most {MAX_DAYS} days at once", file=sys.stderr)
            return 2
    try:
        set_settings(Settings())
    except ValueError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    out = Path(args.out)
    started = time.perf_counter()

    async def go() -> Any:
        db.init_engine()
        try:
            return await export_workspace(args.workspace, out, days, args.format, sys.stderr)
        finally:
            await db.dispose_engine()

    try:
        result, chosen = asyncio.run(go())
    except DomainError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    print(f"workspace {args.workspace}: {chosen[0]} to {chosen[-1]} ({len(chosen)} days) -> {out}")
    for name, rows in result.rows.items():
        print(f"  {name:<14} {rows:>10,} rows")
    print(f"{len(result.files)} files written in {time.perf_counter() - started:.1f} s")
    return 0


def register(sub: Any) -> None:
    exp = sub.add_parser("export", help="export data to files").add_subparsers(
        dest="action", required=True
    )
    p = exp.add_parser("bi", help="BI datasets per day as CSV and/or Parquet (docs/bi.md)")
    p.add_argument("--workspace", required=True, help="workspace slug")
    p.add_argument("--out", required=True, help="directory; files go to DATASET/DAY.FORMAT")
    p.add_argument("--date", type=_day, help="one day (default: yesterday)")
    p.add_argument("--from", dest="start", type=_day, help="first day")
    p.add_argument("--to", dest="end", type=_day, help="last day (included)")
    p.add_argument("--format", choices=["csv", "parquet", "both"], default="both")
    p.set_defaults(fn=cmd_export_bi)
