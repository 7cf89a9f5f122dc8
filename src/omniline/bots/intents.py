"""Intent matching for FAQ answers, trained per workspace from example phrases, fully offline.

Two views of a message, blended:
- TF-IDF of words (1-2 grams) and characters (2-5 grams inside words) with a linear SVM: sharp on
  the workspace's own wording, typos and inflections;
- multilingual-e5-small sentence embeddings (:mod:`omniline.bots.embeddings`) with logistic
  regression: paraphrases, and other languages than the examples' (Ukrainian questions to a
  workspace whose examples are English or Russian).

The blend weight, the SVM's softmax temperature and the out-of-scope threshold are chosen on a
validation part of the training examples, never on test data. Out of scope: when the examples
include rows labelled ``oos`` they set the threshold; otherwise a fifth of the intents is held
out on the validation part and their examples play the unknown questions.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion
from sklearn.svm import LinearSVC

from omniline.bots.embeddings import Embedder

OUT_OF_SCOPE = "oos"
VALIDATION_SHARE = 0.15
HELD_OUT_INTENTS = 0.2
# Without out-of-scope examples, the held-out intents' questions stand for the unknown ones, and
# count as this share of what the bot is asked (a prior, not fitted to any data set).
UNKNOWN_SHARE = 0.1
WEIGHTS = (0.2, 0.3, 0.4, 0.5, 0.6)
TEMPERATURES = (0.2, 0.3)
SVM_C = 0.5
EMBEDDING_C = 30.0

Progress = Callable[[str], None]


def _noop(_: str) -> None:
    return None


def _softmax(z: np.ndarray, temperature: float) -> np.ndarray:
    z = z / temperature
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    out: np.ndarray = e / e.sum(axis=1, keepdims=True)
    return out


def _tfidf() -> FeatureUnion:
    return FeatureUnion(
        [
            ("words", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)),
            ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True)),
        ]
    )


@dataclass(frozen=True)
class Prediction:
    """``intent`` is None when the confidence is below the threshold (not understood)."""

    intent: str | None
    confidence: float
    best: str
    alternatives: list[tuple[str, float]]


@dataclass
class Tuning:
    """What the validation part chose; kept so that a retrain after small edits is quick."""

    weight: float = 0.4
    temperature: float = 0.3
    threshold: float = 0.0
    validation: dict[str, float] = field(default_factory=dict)


class _Pair:
    """The two classifiers over the same intents."""

    def __init__(self, texts: list[str], labels: list[str], vectors: np.ndarray) -> None:
        self.tfidf = _tfidf()
        self.svm = LinearSVC(C=SVM_C)
        self.svm.fit(self.tfidf.fit_transform(texts), labels)
        self.logreg = LogisticRegression(C=EMBEDDING_C, max_iter=3000)
        self.logreg.fit(vectors, labels)
        # Both sort the intents the same way (np.unique), so their columns line up.
        self.classes: np.ndarray = self.logreg.classes_
        assert list(self.svm.classes_) == list(self.classes)

    def views(self, texts: Sequence[str], vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        margins = self.svm.decision_function(self.tfidf.transform(texts))
        if margins.ndim == 1:  # two intents: one margin column
            margins = np.stack([-margins, margins], axis=1)
        return margins, self.logreg.predict_proba(vectors)


def blend(margins: np.ndarray, probs: np.ndarray, tuning: Tuning) -> np.ndarray:
    out: np.ndarray = tuning.weight * _softmax(margins, tuning.temperature)
    return out + (1 - tuning.weight) * probs


class IntentModel:
    def __init__(self, pair: _Pair, tuning: Tuning, embedder: Embedder) -> None:
        self._pair = pair
        self.tuning = tuning
        self.embedder = embedder

    @property
    def intents(self) -> list[str]:
        return [str(c) for c in self._pair.classes]

    def probabilities(self, texts: Sequence[str], vectors: np.ndarray | None = None) -> np.ndarray:
        """``vectors``: the texts' embeddings when the caller has them already."""
        if vectors is None:
            # Customers' messages are not cached: they are personal data, and mostly unique.
            vectors = self.embedder.embed_uncached(list(texts))
        return blend(*self._pair.views(texts, vectors), self.tuning)

    def predict(
        self, texts: Sequence[str], top: int = 3, vectors: np.ndarray | None = None
    ) -> list[Prediction]:
        probs = self.probabilities(texts, vectors)
        out = []
        for row in probs:
            order = np.argsort(-row)[:top]
            ranked = [(str(self._pair.classes[i]), float(row[i])) for i in order]
            best, confidence = ranked[0]
            intent = best if confidence >= self.tuning.threshold else None
            out.append(Prediction(intent, confidence, best, ranked))
        return out


def _split(labels: list[str], rng: random.Random) -> tuple[list[int], list[int]]:
    """Stratified: each intent with at least three examples gives ~15 % (at least one)."""
    by_intent: dict[str, list[int]] = defaultdict(list)
    for i, label in enumerate(labels):
        by_intent[label].append(i)
    fit, val = [], []
    for idx in by_intent.values():
        rng.shuffle(idx)
        n_val = max(1, round(len(idx) * VALIDATION_SHARE)) if len(idx) >= 3 else 0
        val += idx[:n_val]
        fit += idx[n_val:]
    return sorted(fit), sorted(val)


def _best_blend(
    margins: np.ndarray, probs: np.ndarray, truth: np.ndarray, classes: np.ndarray
) -> Tuning:
    best: tuple[float, float, Tuning] | None = None
    for temperature in TEMPERATURES:
        for weight in WEIGHTS:
            tuning = Tuning(weight=weight, temperature=temperature)
            accuracy = float((classes[blend(margins, probs, tuning).argmax(1)] == truth).mean())
            # Ties go to the even blend: neither view alone is trusted for other languages.
            key = (accuracy, -abs(weight - 0.5), tuning)
            if best is None or key[:2] > best[:2]:
                best = key
    assert best is not None
    best[2].validation["accuracy"] = best[0]
    return best[2]


def _best_threshold(
    inscope_conf: np.ndarray,
    inscope_right: np.ndarray,
    oos_conf: np.ndarray,
    oos_share: float | None = None,
) -> float:
    """The threshold that gets most validation rows right: an in-scope row when it is accepted
    and its intent is right, an out-of-scope row when it is refused. ``oos_share`` weighs the
    out-of-scope rows as that share of all rows (None: as many as there are)."""
    if len(oos_conf) == 0 or len(inscope_conf) == 0:
        return 0.0
    oos_weight = 1.0
    if oos_share is not None:
        oos_weight = oos_share / (1 - oos_share) * len(inscope_conf) / len(oos_conf)
    candidates = np.unique(np.concatenate([inscope_conf, oos_conf, [0.0]]))
    best_t, best_score = 0.0, -1.0
    for t in candidates:
        accepted_right = float(((inscope_conf >= t) & inscope_right).sum())
        score = accepted_right + oos_weight * float((oos_conf < t).sum())
        if score > best_score:
            best_t, best_score = float(t), score
    return best_t


def train(
    texts: Sequence[str],
    labels: Sequence[str],
    embedder: Embedder,
    *,
    seed: int = 0,
    tuning: Tuning | None = None,
    progress: Progress = _noop,
) -> IntentModel:
    """Trains on all examples; ``tuning`` from an earlier training skips the validation runs
    (a retrain after a few examples changed)."""
    rng = random.Random(seed)
    rows = [(t, lab) for t, lab in zip(texts, labels, strict=True) if t.strip()]
    inscope = [(t, lab) for t, lab in rows if lab != OUT_OF_SCOPE]
    oos = [t for t, lab in rows if lab == OUT_OF_SCOPE]
    if len({lab for _, lab in inscope}) < 2:
        raise ValueError("intent matching needs examples of at least two intents")
    in_texts = [t for t, _ in inscope]
    in_labels = [lab for _, lab in inscope]
    progress(f"embedding {len(in_texts) + len(oos)} examples")
    vectors = embedder.embed(in_texts + oos)
    in_vecs, oos_vecs = vectors[: len(in_texts)], vectors[len(in_texts) :]

    if tuning is None:
        tuning = _tune(in_texts, in_labels, in_vecs, oos, oos_vecs, rng, progress)
    progress("training on all examples")
    pair = _Pair(in_texts, in_labels, in_vecs)
    embedder.save()
    return IntentModel(pair, tuning, embedder)


def _tune(
    texts: list[str],
    labels: list[str],
    vectors: np.ndarray,
    oos: list[str],
    oos_vectors: np.ndarray,
    rng: random.Random,
    progress: Progress,
) -> Tuning:
    fit, val = _split(labels, rng)
    if not val or len({labels[i] for i in fit}) < 2:
        return Tuning()
    progress(f"choosing the blend on {len(val)} validation examples")
    pair = _Pair([texts[i] for i in fit], [labels[i] for i in fit], vectors[fit])
    val_texts = [texts[i] for i in val]
    truth = np.array([labels[i] for i in val])
    margins, probs = pair.views(val_texts, vectors[val])
    tuning = _best_blend(margins, probs, truth, pair.classes)

    if oos:
        conf = blend(margins, probs, tuning)
        right = pair.classes[conf.argmax(1)] == truth
        oos_conf = blend(*pair.views(oos, oos_vectors), tuning).max(1)
        tuning.threshold = _best_threshold(conf.max(1), right, oos_conf)
        return tuning
    # No out-of-scope examples: some intents play the unknown questions.
    intents = sorted(set(labels))
    if len(intents) < 5:
        return tuning
    held = set(rng.sample(intents, max(1, round(len(intents) * HELD_OUT_INTENTS))))
    progress(f"choosing the threshold with {len(held)} intents held out")
    fit_known = [i for i in fit if labels[i] not in held]
    pair = _Pair([texts[i] for i in fit_known], [labels[i] for i in fit_known], vectors[fit_known])
    conf = blend(*pair.views(val_texts, vectors[val]), tuning)
    known = np.array([labels[i] not in held for i in val])
    right = pair.classes[conf.argmax(1)] == truth
    tuning.threshold = _best_threshold(
        conf.max(1)[known], right[known], conf.max(1)[~known], UNKNOWN_SHARE
    )
    counts = Counter(labels)
    tuning.validation["examples_per_intent"] = float(np.median(list(counts.values())))
    return tuning
