"""Intent matching on BANKING77 (../shared/data/banking77): full training set and 10 examples
per intent, through `omniline nlu evaluate` as a user runs it. Prints the figures and the
machine; the test split is for reporting only (the model chooses on a validation part)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

from _common import ROOT, machine

DATA = ROOT.parent / "shared" / "data" / "banking77"


def run(data: Path, *extra: str) -> dict[str, float]:
    cmd = [
        sys.executable,
        "-m",
        "omniline",
        "nlu",
        "evaluate",
        "--json",
        "--train",
        str(data / "train.csv"),
        "--test",
        str(data / "test.csv"),
        *extra,
    ]
    print("$", " ".join(cmd[2:]), flush=True)
    started = time.perf_counter()
    done = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=True)
    figures = dict(json.loads(done.stdout))
    figures["wall_seconds"] = round(time.perf_counter() - started, 1)
    return figures


def main() -> int:
    # A git worktree elsewhere names the data folder as the first argument.
    data = Path(sys.argv[1]) if len(sys.argv) > 1 else DATA
    if not (data / "train.csv").exists():
        print(f"skipped: {data} is not here (it is beside the project in the team's checkout)")
        return 0
    for key, value in machine().items():
        print(f"{key}: {value}")
    cache = ROOT / "var" / "bench-nlu-cache"
    shutil.rmtree(cache, ignore_errors=True)
    results = {
        "full, cold embedding cache": run(data, "--cache-dir", str(cache)),
        "full, warm cache (a retrain)": run(data, "--cache-dir", str(cache)),
        "10 per intent, seed 0": run(
            data, "--shots", "10", "--seed", "0", "--cache-dir", str(cache)
        ),
        "10 per intent, seed 1": run(
            data, "--shots", "10", "--seed", "1", "--cache-dir", str(cache)
        ),
    }
    print()
    print(f"{'run':32} {'accuracy':>9} {'macro-F1':>9} {'train s':>8} {'p99 ms':>7}")
    for name, f in results.items():
        print(
            f"{name:32} {f['accuracy']:9.2%} {f['macro_f1']:9.2%} "
            f"{f['train_seconds']:8.1f} {f['predict_ms_p99']:7.1f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
