"""`omniline report summary|rebuild`: the figures of docs/metrics.md from the command line."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

# The table's columns; --json prints every figure.
COLUMNS = (
    "offered",
    "answered",
    "abandoned",
    "short_abandoned",
    "service_level",
    "asa_s",
    "abandon_rate",
    "aht_s",
    "frt_s",
    "resolved",
    "csat",
)


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {value}") from exc


def _run(work: Callable[[Any], Awaitable[Any]]) -> Any:
    from omniline import db
    from omniline.config import Settings, set_settings
    from omniline.errors import DomainError

    try:
        set_settings(Settings())
    except ValueError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from exc

    async def wrapper() -> Any:
        db.init_engine()
        try:
            async with db.unit_of_work() as session:
                return await work(session)
        finally:
            await db.dispose_engine()

    try:
        return asyncio.run(wrapper())
    except DomainError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        raise SystemExit(1) from exc


async def _workspace(session: Any, slug: str) -> int:
    from omniline.errors import NotFound
    from omniline.workspaces import repository

    ws = await repository.by_slug(session, slug)
    if ws is None:
        raise NotFound(f"no workspace with the slug {slug}")
    return ws.id


def cmd_summary(args: argparse.Namespace) -> int:
    from omniline.analytics import service
    from omniline.analytics.schemas import Filters

    async def work(session: Any) -> dict[str, Any]:
        ws = await _workspace(session, args.workspace)
        filters = Filters(channel=args.channel) if args.channel else None
        return await service.summary(
            session, ws, start=args.start, end=args.end, by=args.by, tz=args.tz, filters=filters
        )

    report = _run(work)
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
    else:
        print(format_table(report))
    return 0


def format_table(report: dict[str, Any]) -> str:
    """One row per period and a total row."""
    headers = ["period", *COLUMNS]
    rows = [[k, *(_cell(v[c]) for c in COLUMNS)] for k, v in report["periods"].items()]
    rows.append(["total", *(_cell(report["total"][c]) for c in COLUMNS)])
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]
    lines = [f"{report['from']} .. {report['to']} by {report['by']}, time zone {report['tz']}"]
    for n, row in enumerate([headers, *rows]):
        if n == len(rows):
            lines.append("-" * (sum(widths) + 2 * len(widths)))
        lines.append("  ".join(str(c).rjust(w) for c, w in zip(row, widths, strict=True)))
    return "\n".join(lines)


def _cell(value: Any) -> str:
    return "-" if value is None else str(value)


def cmd_rebuild(args: argparse.Namespace) -> int:
    from omniline.analytics import service

    started = time.perf_counter()

    def progress(done: int, total: int) -> None:
        print(f"\r{done:,} / {total:,} conversations", end="", file=sys.stderr, flush=True)

    async def work(session: Any) -> int:
        ws = await _workspace(session, args.workspace)
        return await service.rebuild(session, ws, progress=progress)

    count = _run(work)
    print(file=sys.stderr)
    took = time.perf_counter() - started
    print(f"rebuilt the figures of {count:,} conversations in {took:.1f} s")
    return 0


def register(sub: Any) -> None:
    rep = sub.add_parser("report", help="contact-centre figures").add_subparsers(
        dest="action", required=True
    )
    p = rep.add_parser("summary", help="figures per day, week or month (docs/metrics.md)")
    p.add_argument("--workspace", required=True, help="workspace slug")
    p.add_argument("--from", dest="start", type=_day, required=True, help="YYYY-MM-DD")
    p.add_argument("--to", dest="end", type=_day, required=True, help="YYYY-MM-DD (inclusive)")
    p.add_argument("--by", choices=["hour", "day", "week", "month"], default="day")
    p.add_argument("--channel", help="voice, webchat, email, telegram...")
    p.add_argument("--tz", help="IANA zone (default: the workspace's)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(fn=cmd_summary)
    p = rep.add_parser("rebuild", help="recompute the figures of every conversation")
    p.add_argument("--workspace", required=True, help="workspace slug")
    p.set_defaults(fn=cmd_rebuild)
