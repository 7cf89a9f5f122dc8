"""FAQ answers of a published flow version: its intents trained once per process, matched
off the event loop.

A version never changes, so its model is keyed by the version (id and publishing time).
Training embeds the examples through the disk cache (``var/nlu-cache``): a retrain after a
few examples changed embeds only those. Publishing schedules a training job so that the first
customer does not wait.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Hashable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from omniline.bots.embeddings import Embedder
from omniline.bots.graph import Graph
from omniline.bots.intents import OUT_OF_SCOPE, IntentModel, Prediction, train
from omniline.bots.models import BotFlowVersion
from omniline.bots.out_of_scope import PHRASES
from omniline.config import get_settings
from omniline.jobs import service as jobs
from omniline.jobs.registry import job

log = logging.getLogger(__name__)

_models: dict[Hashable, IntentModel | None] = {}
_locks: dict[Hashable, threading.Lock] = {}
_embedder: Embedder | None = None
_embedder_lock = threading.Lock()
MAX_MODELS = 200


def embedder() -> Embedder:
    global _embedder
    with _embedder_lock:
        if _embedder is None:
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


def _train_sync(version_id: Hashable, graph: Graph) -> IntentModel | None:
    lock = _locks.setdefault(version_id, threading.Lock())
    with lock:
        if version_id in _models:
            return _models[version_id]
        texts, labels = examples(graph)
        model: IntentModel | None = None
        if len(set(labels)) >= 2:
            # Small talk and off-topic questions set the threshold below which the bot says
            # it did not understand (the FAQ has no examples of what to refuse).
            texts += PHRASES
            labels += [OUT_OF_SCOPE] * len(PHRASES)
            model = train(texts, labels, embedder())
        elif labels:
            log.info("flow version %s: one FAQ intent only, matched by its examples", version_id)
        if len(_models) >= MAX_MODELS:
            _models.clear()
        _models[version_id] = model
        return model


async def model_for(version_id: Hashable, graph: Graph) -> IntentModel | None:
    hit = _models.get(version_id)
    if hit is not None or version_id in _models:
        return hit
    return await asyncio.to_thread(_train_sync, version_id, graph)


async def match(version_id: Hashable, graph: Graph, text: str) -> tuple[str | None, float]:
    """The confident intent of ``text`` (or None) and the confidence. Never blocks the loop."""
    if not graph.faq or not text.strip():
        return None, 0.0
    model = await model_for(version_id, graph)
    if model is None:
        return _single(graph, text), 1.0
    (pred,) = await asyncio.to_thread(model.predict, [text[:2000]])
    return _accept(pred), pred.confidence


def _accept(pred: Prediction) -> str | None:
    return pred.intent


def _single(graph: Graph, text: str) -> str | None:
    """With one intent there is nothing to tell apart: an example typed as is matches."""
    from omniline.bots.engine import normalize

    typed = normalize(text)
    for intent in graph.faq:
        for phrases in intent.examples.values():
            if any(normalize(p) == typed for p in phrases):
                return intent.key
    return None


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
