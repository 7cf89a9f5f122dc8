"""`omniline nlu ...`: intent matching from the command line."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def cmd_nlu_evaluate(args: argparse.Namespace) -> int:
    from omniline.bots.embeddings import Embedder
    from omniline.bots.intent_evaluation import DataError, evaluate, few_shot, read_rows, summary

    try:
        train_rows = read_rows(Path(args.train))
        test_rows = read_rows(Path(args.test))
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.shots is not None:
        if args.shots < 1:
            print("error: --shots must be at least 1", file=sys.stderr)
            return 2
        train_rows = few_shot(train_rows, args.shots, args.seed)
    cache = None if args.no_cache else Path(args.cache_dir)
    print(
        f"Training on {len(train_rows)} rows, testing on {len(test_rows)} "
        f"(embedding cache: {cache or 'off'})",
        file=sys.stderr,
    )
    try:
        report = evaluate(train_rows, test_rows, Embedder(cache), seed=args.seed)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(report.as_json()))
    else:
        print(summary(report))
    return 0


def register(sub: Any) -> None:
    nlu = sub.add_parser("nlu", help="intent matching for bots").add_subparsers(
        dest="action", required=True
    )
    p = nlu.add_parser("evaluate", help="train on one labelled CSV and measure on another")
    p.add_argument("--train", required=True, help="CSV with the header text,category")
    p.add_argument("--test", required=True, help="CSV; category 'oos' marks out-of-scope rows")
    p.add_argument("--shots", type=int, help="use only K training examples per intent")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument(
        "--cache-dir", default="var/nlu-cache", help="where embeddings are kept between runs"
    )
    p.add_argument("--no-cache", action="store_true", help="do not keep embeddings on disk")
    p.set_defaults(fn=cmd_nlu_evaluate)
    from omniline.bots import training

    training.register(nlu)
