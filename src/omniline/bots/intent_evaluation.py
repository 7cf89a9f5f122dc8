"""`omniline nlu evaluate`: train on one labelled CSV, measure on another.

CSV files have the header ``text,category``; a test row whose category is ``oos`` is out of
scope and is right when the model refuses it. With ``--shots K`` the training set is cut to K
examples per intent (drawn with ``--seed``), as a new workspace with few examples would be.
"""

from __future__ import annotations

import csv
import random
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import numpy as np
from sklearn.metrics import f1_score
from threadpoolctl import threadpool_limits

from omniline.bots.embeddings import Embedder
from omniline.bots.intents import OUT_OF_SCOPE, train

PREDICT_BATCH = 1  # p99 is per message, as the bot sees them: one at a time


class DataError(ValueError):
    """A CSV that cannot be used, with a message for the person who gave it."""


@dataclass
class Report:
    accuracy: float
    macro_f1: float
    in_scope_accuracy: float
    oos_recall: float | None
    train_seconds: float
    predict_ms_p99: float
    train_rows: int
    test_rows: int
    intents: int
    threshold: float
    quick_share: float = 0.0  # of the test messages, answered without the embedding
    quick_threshold: float = 1.0

    def as_json(self) -> dict[str, float | None]:
        return {
            "accuracy": round(self.accuracy, 4),
            "macro_f1": round(self.macro_f1, 4),
            "in_scope_accuracy": round(self.in_scope_accuracy, 4),
            "oos_recall": None if self.oos_recall is None else round(self.oos_recall, 4),
            "train_seconds": round(self.train_seconds, 2),
            "predict_ms_p99": round(self.predict_ms_p99, 2),
        }


def read_rows(path: Path) -> list[tuple[str, str]]:
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            if not reader.fieldnames or not {"text", "category"} <= set(reader.fieldnames):
                raise DataError(f"{path}: the header must be 'text,category'")
            rows = [
                (str(r["text"] or "").strip(), str(r["category"] or "").strip()) for r in reader
            ]
    except FileNotFoundError as exc:
        raise DataError(f"{path}: no such file") from exc
    except (UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"{path}: not a UTF-8 CSV file ({exc})") from exc
    rows = [(t, c) for t, c in rows if t and c]
    if not rows:
        raise DataError(f"{path}: no rows with both text and category")
    return rows


def few_shot(rows: list[tuple[str, str]], shots: int, seed: int) -> list[tuple[str, str]]:
    by_intent: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for row in rows:
        by_intent[row[1]].append(row)
    rng = random.Random(seed)
    out: list[tuple[str, str]] = []
    for intent in sorted(by_intent):
        group = by_intent[intent]
        rng.shuffle(group)
        out += group if intent == OUT_OF_SCOPE else group[:shots]
    return out


def evaluate(
    train_rows: list[tuple[str, str]],
    test_rows: list[tuple[str, str]],
    embedder: Embedder,
    *,
    seed: int = 0,
    out: TextIO = sys.stderr,
) -> Report:
    def say(message: str) -> None:
        print(f"  {message}", file=out, flush=True)

    # One BLAS and OpenMP thread for everything, set before the embedding model is loaded: its
    # engine brings an OpenMP runtime, and when the training loaded it (examples not in the
    # cache) with the limit set only for predicting, or even with the limit set right after
    # loading it, its threads spun on 2 cores: prediction p99 75 ms a message against 42 ms
    # (10 per intent, BANKING77), and a slower training.
    limit = threadpool_limits(limits=1)
    embedder.embed_uncached(["query"])
    started = time.perf_counter()
    try:
        model = train(
            [t for t, _ in train_rows],
            [c for _, c in train_rows],
            embedder,
            seed=seed,
            progress=say,
        )
    except BaseException:
        limit.restore_original_limits()
        raise
    train_seconds = time.perf_counter() - started

    say(f"predicting {len(test_rows)} test messages one by one")
    predicted: list[str] = []
    latencies: list[float] = []
    quick = 0
    # As the server answers (bots/faq.py): one message at a time on one BLAS thread. More
    # threads only spin on so small a product (p99 120 ms against 39 ms on 2 cores).
    with limit:
        for i, (text, _) in enumerate(test_rows):
            t0 = time.perf_counter()
            (prediction,) = model.predict([text])
            latencies.append((time.perf_counter() - t0) * 1000)
            predicted.append(prediction.intent or OUT_OF_SCOPE)
            quick += prediction.quick
            if (i + 1) % 500 == 0:
                say(f"{i + 1}/{len(test_rows)}")

    truth = np.array([c for _, c in test_rows])
    guess = np.array(predicted)
    inscope = truth != OUT_OF_SCOPE
    labels = sorted(set(truth) | set(guess))
    return Report(
        accuracy=float((guess == truth).mean()),
        macro_f1=float(f1_score(truth, guess, labels=labels, average="macro", zero_division=0)),
        in_scope_accuracy=float((guess[inscope] == truth[inscope]).mean())
        if inscope.any()
        else 0.0,
        oos_recall=float((guess[~inscope] == OUT_OF_SCOPE).mean()) if (~inscope).any() else None,
        train_seconds=train_seconds,
        predict_ms_p99=float(np.percentile(latencies, 99)),
        train_rows=len(train_rows),
        test_rows=len(test_rows),
        intents=len(model.intents),
        threshold=model.tuning.threshold,
        quick_share=quick / len(test_rows),
        quick_threshold=model.tuning.quick_threshold,
    )


def summary(report: Report) -> str:
    oos = "n/a (no out-of-scope rows)" if report.oos_recall is None else f"{report.oos_recall:.2%}"
    quick = (
        "the TF-IDF look was never sure enough on the validation part"
        if report.quick_threshold > 1.0
        else f"TF-IDF alone at confidence >= {report.quick_threshold:.3f}"
    )
    return "\n".join(
        [
            f"Intent matching: {report.train_rows} training rows, {report.intents} intents, "
            f"{report.test_rows} test rows",
            f"  accuracy            {report.accuracy:.2%}",
            f"  macro-F1            {report.macro_f1:.2%}",
            f"  in-scope accuracy   {report.in_scope_accuracy:.2%}",
            f"  out-of-scope recall {oos}",
            f"  confidence threshold {report.threshold:.3f} (chosen on a validation part)",
            f"  answered without the embedding {report.quick_share:.1%} ({quick})",
            f"  training            {report.train_seconds:.1f} s",
            f"  prediction p99      {report.predict_ms_p99:.1f} ms per message",
        ]
    )
