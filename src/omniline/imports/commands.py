"""``omniline import calls FILE --workspace SLUG [--tz ZONE] [--inbox ID] [--json]``."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TextIO

MALFORMED_SHOWN = 5


@dataclass(slots=True)
class ImportSummary:
    file: str
    workspace: str
    inbox_id: int
    tz: str
    rows: int = 0
    imported: int = 0
    present: int = 0
    malformed: int = 0
    first_malformed: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0


async def import_calls(
    path: Path,
    slug: str,
    *,
    tz: str | None = None,
    inbox_id: int | None = None,
    batch: int | None = None,
    out: TextIO | None = None,
) -> ImportSummary:
    """Read the file, then import it batch by batch, one transaction each. ``out`` receives
    progress lines (None: quiet). The database engine must be initialised."""
    from omniline import db
    from omniline.acd.records import read_records
    from omniline.analytics import service as analytics
    from omniline.imports import service

    started = time.perf_counter()

    def say(text: str) -> None:
        if out is not None:
            print(text, file=out, flush=True)

    parsed = read_records(path, lambda n: say(f"read {n:,} rows"))
    async with db.unit_of_work() as session:
        target = await service.do_prepare(session, slug, tz=tz, inbox_id=inbox_id)
    summary = ImportSummary(
        file=str(path),
        workspace=slug,
        inbox_id=target.inbox_id,
        tz=target.tz.key,
        rows=parsed.rows,
        malformed=len(parsed.malformed),
        first_malformed=[
            {"line": m.line, "reason": m.reason} for m in parsed.malformed[:MALFORMED_SHOWN]
        ],
    )
    size = batch or service.BATCH
    records = parsed.records
    for start in range(0, len(records), size):
        async with db.unit_of_work() as session:
            done = await service.do_import_batch(session, target, records[start : start + size])
            # Reports read facts kept per conversation; calls of 1999 are older than any
            # catch-up looks, so the batch's facts are computed here, in its transaction.
            await analytics.refresh_conversations(
                session, target.workspace_id, done.conversation_ids
            )
            if start == 0 or start + size >= len(records):
                await service.do_refresh_statistics(session)
        summary.imported += done.imported
        summary.present += done.present
        say(
            f"{min(start + size, len(records)):,} / {len(records):,} calls: "
            f"{summary.imported:,} imported, {summary.present:,} already present"
        )
    summary.seconds = round(time.perf_counter() - started, 2)
    return summary


def format_summary(s: ImportSummary) -> str:
    lines = [
        f"{s.file} -> workspace {s.workspace}, inbox {s.inbox_id}, times in {s.tz}",
        f"rows read:        {s.rows:,}",
        f"imported:         {s.imported:,}",
        f"already present:  {s.present:,}",
        f"malformed:        {s.malformed:,} (skipped)",
    ]
    lines += [f"  line {m['line']}: {m['reason']}" for m in s.first_malformed]
    if s.malformed > len(s.first_malformed):
        lines.append(f"  ... and {s.malformed - len(s.first_malformed):,} more")
    lines.append(f"took {s.seconds:.1f} s")
    return "\n".join(lines)


def cmd_import_calls(args: argparse.Namespace) -> int:
    from omniline import db
    from omniline.config import Settings, set_settings
    from omniline.errors import DomainError

    path = Path(args.file)
    if not path.is_file():
        print(f"error: no file {path}", file=sys.stderr)
        return 2
    try:
        set_settings(Settings())
    except ValueError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2

    async def go() -> ImportSummary:
        db.init_engine()
        try:
            return await import_calls(
                path,
                args.workspace,
                tz=args.tz,
                inbox_id=args.inbox,
                out=None if args.json else sys.stderr,
            )
        finally:
            await db.dispose_engine()

    try:
        summary = asyncio.run(go())
    except DomainError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    print(json.dumps(asdict(summary)) if args.json else format_summary(summary))
    return 0


def register(sub: Any) -> None:
    imp = sub.add_parser("import", help="load history from other systems").add_subparsers(
        dest="action", required=True
    )
    p = imp.add_parser("calls", help="per-call records (Anonymous Bank format) as historical calls")
    p.add_argument("file", help="tab-separated per-call records (docs/imports.md)")
    p.add_argument("--workspace", required=True, help="workspace slug")
    p.add_argument("--tz", help="time zone of the file's times (default: the workspace's)")
    p.add_argument("--inbox", type=int, help="phone inbox id (default: 'Imported calls')")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    p.set_defaults(fn=cmd_import_calls)
