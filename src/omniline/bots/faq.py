"""FAQ answers of a published flow version: its intents trained once per process, matched
off the event loop.

A version never changes, so its model is keyed by the version (id and publishing time).
Training embeds the examples through the disk cache (``var/nlu-cache``): a retrain after a
few examples changed embeds only those. Publishing schedules a training job so that the first
customer does not wait.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.bots.embeddings import Embedder
from omniline.bots.graph import Graph
from omniline.bots.models import BotFlowVersion
from omniline.bots.out_of_scope import PHRASES
from omniline.config import get_settings
from omniline.jobs import service as jobs
from omniline.jobs.registry import job

MAX_MODELS = 200
# A question must be this much closer (cosine) to some FAQ example than to any small-talk
# phrase to be answered; otherwise the bot says it did not understand instead of guessing.
MARGIN = 0.03


@dataclass
class FaqModel:
    model: Any  # omniline.bots.intents.IntentModel (scikit-learn loads on first training)
    examples: np.ndarray  # the FAQ examples' embeddings, one row each
    labels: list[str]
    small_talk: np.ndarray


_models: dict[Hashable, FaqModel | None] = {}
_locks: dict[Hashable, threading.Lock] = {}
_embedder: Embedder | None = None
_embedder_lock = threading.Lock()


def _one_thread() -> None:
    """One BLAS and OpenMP thread for the libraries loaded so far: a message is one small
    matrix product, and a server's cores are busy with requests; more threads spin against
    each other (on 2 loaded cores a question took 126 ms of CPU with the default threads, 17 ms
    with one)."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1)


def embedder() -> Embedder:
    global _embedder
    with _embedder_lock:
        if _embedder is None:
            _one_thread()
            _embedder = Embedder(get_settings().var_dir / "nlu-cache")
        return _embedder


def examples(graph: Graph) -> tuple[list[str], list[str]]:
    texts: list[str] = []
    labels: list[str] = []
    for intent in graph.faq:
        for phrases in intent.examples.values():
            for phrase in phrases:
                if phrase.strip():
                    texts.append(phrase.strip())
                    labels.append(intent.key)
    return texts, labels


def _train_sync(key: Hashable, graph: Graph) -> FaqModel | None:
    lock = _locks.setdefault(key, threading.Lock())
    with lock:
        if key in _models:
            return _models[key]
        texts, labels = examples(graph)
        found: FaqModel | None = None
        if texts:
            from omniline.bots.intents import train

            e = embedder()
            model = train(texts, labels, e) if len(set(labels)) >= 2 else None
            found = FaqModel(model, e.embed(texts), labels, e.embed(PHRASES))
            e.save()
            _one_thread()  # again: training loaded scikit-learn's OpenMP runtime
        if len(_models) >= MAX_MODELS:
            _models.clear()
        _models[key] = found
        return found


async def model_for(key: Hashable, graph: Graph) -> FaqModel | None:
    if key in _models:
        return _models[key]
    return await asyncio.to_thread(_train_sync, key, graph)


def _predict(fm: FaqModel, text: str) -> tuple[str | None, float]:
    vector = embedder().embed_uncached([text])
    nearest = fm.examples @ vector[0]
    closest_small_talk = float((fm.small_talk @ vector[0]).max())
    if float(nearest.max()) < closest_small_talk + MARGIN:
        return None, float(nearest.max())
    if fm.model is None:  # one intent: nothing to tell apart
        return fm.labels[int(nearest.argmax())], float(nearest.max())
    (pred,) = fm.model.predict([text], vectors=vector)
    return pred.intent, pred.confidence


async def match(key: Hashable, graph: Graph, text: str) -> tuple[str | None, float]:
    """The confident FAQ intent of ``text`` (or None) and the confidence. Never blocks the
    event loop: training and embedding run in a thread."""
    if not graph.faq or not text.strip():
        return None, 0.0
    fm = await model_for(key, graph)
    if fm is None:
        return None, 0.0
    return await asyncio.to_thread(_predict, fm, text[:2000])


async def schedule_training(session: AsyncSession, version: BotFlowVersion) -> None:
    if version.graph.get("faq"):
        await jobs.enqueue(
            session, "bot_train_faq", {"version_id": version.id}, workspace_id=version.workspace_id
        )


@job("bot_train_faq")
async def train_job(session: AsyncSession, payload: dict[str, Any]) -> None:
    version = await session.get(BotFlowVersion, int(payload["version_id"]))
    if version is None:
        return
    from omniline.bots.turns import version_key

    await model_for(version_key(version), Graph.model_validate(version.graph))
