"""`omniline voice ...`: replay a month of recorded calls through the ACD engine."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

FIGURES = ("offered", "answered", "abandoned", "short_abandoned", "service_level", "asa_s")
FIGURES_ALL = (*FIGURES, "abandon_rate")
RATIOS = frozenset({"service_level", "abandon_rate"})


def replay_report(
    path: Path, *, short_s: float, threshold_s: float, interval_s: float, quiet: bool
) -> dict[str, Any]:
    """``{"recorded": ..., "simulated": ..., "malformed": N}`` for the file at ``path``."""
    from omniline.acd.metrics import Outcome, voice_figures
    from omniline.acd.records import queued_calls, read_records
    from omniline.acd.replay import simulate

    def progress(rows: int) -> None:
        if not quiet:
            print(f"read {rows:,} rows", file=sys.stderr, flush=True)

    parsed = read_records(path, progress)
    if not quiet:
        print(
            f"read {parsed.rows:,} rows, {len(parsed.malformed)} malformed (skipped)",
            file=sys.stderr,
        )
        for bad in parsed.malformed:
            print(f"  line {bad.line}: {bad.reason}", file=sys.stderr)
    calls = queued_calls(parsed.records)
    recorded = (Outcome(c.day, c.answered, c.wait) for c in calls)
    simulated = (o for o in simulate(calls, interval_s=interval_s) if o is not None)
    return {
        "recorded": voice_figures(recorded, short_s=short_s, threshold_s=threshold_s),
        "simulated": voice_figures(simulated, short_s=short_s, threshold_s=threshold_s),
        "malformed": len(parsed.malformed),
    }


def format_report(report: dict[str, Any]) -> str:
    """One row per day and a total row; each figure as recorded / simulated."""
    rec, sim = report["recorded"], report["simulated"]
    headers = ["day", *FIGURES_ALL]
    rows = [
        [day, *(_pair(fig, sim["days"].get(day, {}), k) for k in FIGURES_ALL)]
        for day, fig in rec["days"].items()
    ]
    rows.append(["total", *(_pair(rec, sim, k) for k in FIGURES_ALL)])
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]
    lines = ["each cell: recorded / simulated"]
    for n, row in enumerate([headers, *rows]):
        if n == len(rows):
            lines.append("-" * (sum(widths) + 2 * len(widths)))
        lines.append("  ".join(str(c).rjust(w) for c, w in zip(row, widths, strict=True)))
    lines.append(f"malformed rows skipped: {report['malformed']}")
    return "\n".join(lines)


def _pair(rec: dict[str, Any], sim: dict[str, Any], key: str) -> str:
    return f"{_fmt(key, rec.get(key))} / {_fmt(key, sim.get(key))}"


def _fmt(key: str, value: Any) -> str:
    if value is None:
        return "-"  # nothing to divide by
    return f"{value:.1%}" if key in RATIOS else str(value)


def cmd_voice_replay(args: argparse.Namespace) -> int:
    path = Path(args.file)
    if not path.is_file():
        print(f"error: no file {path}", file=sys.stderr)
        return 2
    report = replay_report(
        path,
        short_s=args.short_abandon,
        threshold_s=args.threshold,
        interval_s=args.interval * 60,
        quiet=args.json,
    )
    print(json.dumps(report) if args.json else format_report(report))
    return 0


def register(sub: Any) -> Any:
    """Add ``voice replay``; returns the ``voice`` subcommands for the others to join."""
    voice = sub.add_parser("voice", help="voice queues").add_subparsers(
        dest="action", required=True
    )
    p = voice.add_parser(
        "replay", help="replay per-call records through the ACD: recorded vs simulated figures"
    )
    p.add_argument("file", help="per-call records (Anonymous Bank format, tab-separated)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--short-abandon", type=float, default=5.0, help="seconds (default 5)")
    p.add_argument("--threshold", type=float, default=20.0, help="service level seconds")
    p.add_argument("--interval", type=float, default=30.0, help="staffing interval, minutes")
    p.set_defaults(fn=cmd_voice_replay)
    return voice
