"""FAQ answers of a published flow version: its intents trained once per process, matched
off the event loop.

A version never changes, so its model is keyed by the version (id and publishing time).
Training embeds the examples through the disk cache (``var/nlu-cache``): a retrain after a
few examples changed embeds only those. Publishing schedules a training job so that the first
customer does not wait.

Matching a question (:func:`match`):
- a question that is one of the examples word for word (after :func:`normalize`: case,
  punctuation) is that example's intent, without the model, when no other intent has it;
- the others go through one matcher thread (:class:`_Batcher`): first the quick look of the
  intent model (TF-IDF alone, :meth:`IntentModel.quick`), which answers the questions it is
  sure of without embedding them (the embedding is most of a question's cost; the small-talk
  phrases are a class of that look, so it never answers them); the rest are embedded in one
  call of the model and predicted in one call of the classifier, each with the same intent
  and confidence as alone (``tests/bots/test_faq_matching.py``).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Hashable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.bots.embeddings import Embedder
from omniline.bots.engine import normalize
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
# The most questions one call matches. The embedding's cost grows with the texts (18-20 ms of
# CPU each on this project's 2-core VM, alone or 8 together), while the classifier costs about
# 3.5 ms a call for 1 question and 4.4 ms for 8: a batch saves most of the classifier's part,
# and makes the first question of a batch wait for the last one's embedding. Small batches.
MAX_BATCH = 4


@dataclass
class FaqModel:
    model: Any  # omniline.bots.intents.IntentModel (scikit-learn loads on first training)
    examples: np.ndarray  # the FAQ examples' embeddings, one row each
    labels: list[str]
    small_talk: np.ndarray
    # normalised example -> its intent, for the examples that only one intent has
    exact: dict[str, str] = field(default_factory=dict)


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
            e = Embedder(get_settings().var_dir / "nlu-cache")
            # The model's C engine brings its own OpenMP runtime, loaded with the model: load it
            # now, so that the limit covers it too. (Loaded later, by the first customer's
            # question when every example was in the disk cache, it ran two spinning threads:
            # 360 ms of CPU and over a second on a loaded 2-core box instead of 16-20 ms.)
            e.embed_uncached(["query"])
            _one_thread()
            _embedder = e
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


def exact_examples(texts: Sequence[str], labels: Sequence[str]) -> dict[str, str]:
    """Normalised example -> intent; an example two intents share is left to the model."""
    seen: dict[str, set[str]] = {}
    for text, label in zip(texts, labels, strict=True):
        if key := normalize(text):
            seen.setdefault(key, set()).add(label)
    return {k: next(iter(v)) for k, v in seen.items() if len(v) == 1}


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
            model = None
            if len(set(labels)) >= 2:
                model = train(texts, labels, e, others=PHRASES)
            found = FaqModel(
                model, e.embed(texts), labels, e.embed(PHRASES), exact_examples(texts, labels)
            )
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


def _quick(fm: FaqModel, text: str) -> tuple[str | None, float] | None:
    """The intent model's answer when its quick look is sure of it, without the embedding."""
    if fm.model is None:
        return None
    (sure,) = fm.model.quick([text])
    return None if sure is None else (sure.intent, sure.confidence)


def _predict(fm: FaqModel, text: str) -> tuple[str | None, float]:
    """One question, alone (the reference :func:`_predict_many` must agree with)."""
    sure = _quick(fm, text)
    if sure is not None:
        return sure
    return _decide(fm, [text], embedder().embed_uncached([text]))[0]


def _decide(fm: FaqModel, texts: list[str], vectors: np.ndarray) -> list[tuple[str | None, float]]:
    """The answers of one model to ``texts`` whose embeddings are ``vectors`` (one row each).
    The similarities are taken row by row, as for one question, so that a question's answer
    does not depend on the others it was batched with."""
    out: list[tuple[str | None, float] | None] = [None] * len(texts)
    ask: list[int] = []
    for i, vector in enumerate(vectors):
        nearest = fm.examples @ vector
        closest_small_talk = float((fm.small_talk @ vector).max())
        if float(nearest.max()) < closest_small_talk + MARGIN:
            out[i] = (None, float(nearest.max()))
        elif fm.model is None:  # one intent: nothing to tell apart
            out[i] = (fm.labels[int(nearest.argmax())], float(nearest.max()))
        else:
            ask.append(i)
    if ask:
        predictions = fm.model.predict([texts[i] for i in ask], vectors=vectors[ask], cascade=False)
        for i, pred in zip(ask, predictions, strict=True):
            out[i] = (pred.intent, pred.confidence)
    return [answer for answer in out if answer is not None]


def _predict_many(asks: Sequence[tuple[FaqModel, str]]) -> list[tuple[str | None, float]]:
    """Questions to any models: the quick look for each, then one embedding call for those it
    is not sure of and one classifier call per model."""
    out: list[tuple[str | None, float]] = [(None, 0.0)] * len(asks)
    rest: list[int] = []
    for i, (fm, text) in enumerate(asks):
        sure = _quick(fm, text)
        if sure is None:
            rest.append(i)
        else:
            out[i] = sure
    if not rest:
        return out
    vectors = embedder().embed_uncached([asks[i][1] for i in rest])
    by_model: dict[int, list[int]] = {}
    for n, i in enumerate(rest):
        by_model.setdefault(id(asks[i][0]), []).append(n)
    for rows in by_model.values():
        fm = asks[rest[rows[0]]][0]
        answers = _decide(fm, [asks[rest[n]][1] for n in rows], vectors[rows])
        for n, answer in zip(rows, answers, strict=True):
            out[rest[n]] = answer
    return out


_executor: ThreadPoolExecutor | None = None


def _matcher_thread() -> ThreadPoolExecutor:
    """One thread: the model is one CPU-bound call that releases the GIL (its C engine through
    ctypes), so the event loop keeps the other core; more threads would only take turns."""
    global _executor
    with _embedder_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(1, thread_name_prefix="faq-matcher")
        return _executor


@dataclass
class _Ask:
    fm: FaqModel
    text: str
    future: asyncio.Future[tuple[str | None, float]]


class _Batcher:
    """Questions of any conversations, matched in the order they came, up to MAX_BATCH in one
    call: while the matcher thread works, the next questions gather, and go together when it
    is free (no waiting window: the first question never waits for company). Each question
    gets its own answer, whatever it was batched with; the order of a conversation's turns is
    kept by the turns themselves (``bots/turns.py``), not by this queue."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._waiting: list[_Ask] = []
        self._draining: asyncio.Task[None] | None = None
        self.batches: list[int] = []  # sizes of the latest batches (tests, tuning)

    def ask(self, fm: FaqModel, text: str) -> asyncio.Future[tuple[str | None, float]]:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # a new event loop (tests): nothing of the old one is valid
            self._loop, self._waiting, self._draining = loop, [], None
        future: asyncio.Future[tuple[str | None, float]] = loop.create_future()
        self._waiting.append(_Ask(fm, text, future))
        if self._draining is None or self._draining.done():
            self._draining = loop.create_task(self._drain(), name="faq-matcher")
        return future

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        while self._waiting:
            await asyncio.sleep(0)  # questions asked in the same pass of the loop go together
            batch = [a for a in self._waiting[:MAX_BATCH] if not a.future.done()]
            del self._waiting[:MAX_BATCH]
            if not batch:
                continue
            self.batches = [*self.batches[-99:], len(batch)]
            try:
                answers = await loop.run_in_executor(
                    _matcher_thread(), _predict_many, [(a.fm, a.text) for a in batch]
                )
            except Exception as exc:
                for a in batch:
                    if not a.future.done():
                        a.future.set_exception(exc)
            else:
                for a, answer in zip(batch, answers, strict=True):
                    if not a.future.done():
                        a.future.set_result(answer)


_batcher = _Batcher()


async def match(key: Hashable, graph: Graph, text: str) -> tuple[str | None, float]:
    """The confident FAQ intent of ``text`` (or None) and the confidence. Never blocks the
    event loop: training and matching run in threads."""
    if not graph.faq or not text.strip():
        return None, 0.0
    fm = await model_for(key, graph)
    if fm is None:
        return None, 0.0
    text = text[:2000]
    exact = fm.exact.get(normalize(text))
    if exact is not None:
        return exact, 1.0
    return await _batcher.ask(fm, text)


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
