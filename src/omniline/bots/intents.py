"""Intent matching for FAQ answers, trained per workspace from example phrases, fully offline.

Three views of a message, blended:
- one linear SVM over TF-IDF of words (1-2 grams) and characters (2-5 grams inside words)
  concatenated with the message's multilingual-e5-small embedding (:mod:`omniline.bots.embeddings`,
  reduced to 64 principal components of the examples and scaled): sharp on the workspace's own
  wording, typos and inflections, and the two kinds of features are weighed jointly;
- logistic regression on the full embeddings (when there are at most 2,000 examples: with more
  the SVM's embedding part carries it, and its fit would slow retraining): paraphrases, and
  other languages than the examples' (Ukrainian questions to a workspace whose examples are
  English or Russian);
- the nearest examples by cosine of embeddings (kNN): one odd phrasing of an intent counts even
  when the linear models smooth it away.

The blend weights, the SVM's softmax temperature, the kNN's temperature, whether the intents'
names join the examples, the logistic regression's C and whether the kNN looks among the examples'
e5 "passage: " embeddings (these three with few examples only), the calibration and the
out-of-scope threshold are chosen on a validation part of the training examples, never on test
data: a stratified 15 % when there are enough examples, out-of-fold predictions of 4 folds when
there are few (a new workspace with ten phrases per intent).
A view whose weight is 0 is not trained.

A quick first look (a cascade): a linear SVM over the same TF-IDF features alone, with its own
calibration, answers by itself when it is sure enough, and the message is then never embedded
(the e5 embedding is most of a question's cost). How sure is chosen on the validation part too:
the lowest confidence at which answering the sure ones quickly keeps the validation accuracy
within QUICK_TOLERANCE of the blend's; without enough validation answers to tell, never. Texts
no intent answers (small talk, ``others``) are one more class of this view only: a message like
them is never answered quickly.

Confidence is calibrated: the blend's top probability goes through a logistic (Platt) fit on the
validation answers, so that it estimates the probability that the answer is right.

Out of scope: rows labelled ``oos`` are one more class (a question like them is refused), and the
validation rows answered with an intent set the threshold (the one that gets most of them
right). Without them, a fifth of the intents is held out and their questions play the unknown
ones, as 5 % of what the bot is asked; and whatever that suggests, an answer is withheld only
when its calibrated confidence is below LOW_CONFIDENCE (three times likelier wrong than right).
Held-out intents of the same domain are the hardest kind of unknown question (they look like the
known ones), so the guess alone would cost several per cent of right answers for a benefit nobody
measured; a refused question that could have been answered counts as a miss too.
"""

from __future__ import annotations

import itertools
import random
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.sparse import csr_matrix, hstack, vstack
from sklearn.decomposition import PCA
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion
from sklearn.svm import LinearSVC

from omniline.bots.embeddings import Embedder

OUT_OF_SCOPE = "oos"
VALIDATION_SHARE = 0.15
FOLDS = 4  # when the median intent has fewer than FOLDS_BELOW examples
FOLDS_BELOW = 30
HELD_OUT_INTENTS = 0.2
# Without out-of-scope examples, the held-out intents' questions stand for the unknown ones, and
# count as this share of what the bot is asked (a prior, not fitted to any data set) ...
UNKNOWN_SHARE = 0.05
# ... and, whatever that suggests, a question is refused only when the calibrated probability that
# its answer is right is below this: the answer is at least three times likelier wrong than right.
# (Refusing a question the bot could answer is a miss too; without `oos` examples nothing measures
# how often customers ask unknown questions, so only such nearly hopeless answers are withheld.)
LOW_CONFIDENCE = 0.25
WEIGHT_STEP = 0.1
TEMPERATURES = (0.1, 0.2, 0.3)
KNN_TEMPERATURES = (0.02, 0.05)
KNN_K = 10
SVM_C = 0.5
EMBEDDING_C = 30.0
# With few examples (folds), the logistic regression's C is chosen on them among these.
FEW_SHOT_CS = (EMBEDDING_C, 100.0)
# The logistic regression view is for few examples: with more, the SVM's embedding features carry
# it, and its fit (seconds per thousand examples) would slow every retrain.
LOGREG_MAX_EXAMPLES = 2000
PCA_DIMS = 64
# The quick view (TF-IDF alone) may get wrong at most this share of the validation questions
# that the blend gets right, it needs at least QUICK_MIN_ROWS validation answers to be trusted, and
# it never answers below QUICK_FLOOR (calibrated), whatever the validation part suggests.
QUICK_TOLERANCE = 0.001
QUICK_MIN_ROWS = 30
QUICK_FLOOR = 0.5
NEVER = 2.0  # a confidence threshold no answer reaches
OTHER = "\x00other"  # the quick view's class of texts no intent answers
NAME_COPIES = (1, 2)  # tried on the folds (few examples per intent), beside none
EMBEDDING_SCALE = 3.0  # norm of the embedding part beside TF-IDF's two unit-norm parts

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


class _Tfidf:
    """A fitted TF-IDF union's transform of a message or a few, without scikit-learn's checks
    and job dispatch on every call (they cost several times the work itself for one message,
    on the thread that also serves the event loop's GIL): the same numbers as the union's
    ``transform`` (``tests/bots/test_intents.py``)."""

    def __init__(self, union: FeatureUnion) -> None:
        self._parts = []
        offset = 0
        for _, vectorizer in union.transformer_list:
            idf = np.asarray(vectorizer.idf_, dtype=np.float64)
            self._parts.append((vectorizer.build_analyzer(), vectorizer.vocabulary_, idf, offset))
            assert vectorizer.sublinear_tf and vectorizer.norm == "l2" and vectorizer.use_idf
            offset += len(idf)
        self._width = offset

    def transform(self, texts: Sequence[str]) -> csr_matrix:
        data: list[float] = []
        columns: list[int] = []
        pointers = [0]
        for text in texts:
            for analyze, vocabulary, idf, offset in self._parts:
                counts = Counter(
                    i for i in (vocabulary.get(term) for term in analyze(text)) if i is not None
                )
                if not counts:
                    continue
                index = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
                values = (1.0 + np.log(np.fromiter(counts.values(), float, len(counts)))) * idf[
                    index
                ]
                values /= np.sqrt(float(values @ values))
                columns.extend((index + offset).tolist())
                data.extend(values.tolist())
            pointers.append(len(data))
        out = csr_matrix(
            (np.array(data), np.array(columns, dtype=np.int64), np.array(pointers)),
            shape=(len(texts), self._width),
        )
        out.sort_indices()
        return out


@dataclass(frozen=True)
class Prediction:
    """``intent`` is None when the confidence is below the threshold (not understood).
    ``confidence`` is calibrated: the probability, measured on validation answers, that ``best``
    is right; ``alternatives`` carry the blend's own probabilities (the quick view's when
    ``quick``: it answered alone, without the embedding)."""

    intent: str | None
    confidence: float
    best: str
    alternatives: list[tuple[str, float]]
    quick: bool = False


@dataclass
class Tuning:
    """What the validation part chose; kept so that a retrain after small edits is quick.

    ``weights``: of the SVM (TF-IDF + embedding), the logistic regression and the kNN views."""

    weights: tuple[float, float, float] = (0.4, 0.3, 0.3)
    temperature: float = 0.2
    knn_temperature: float = 0.05
    threshold: float = 0.0  # on the calibrated confidence
    # Platt scaling of the blend's top probability into the probability that the answer is
    # right, fitted on the validation answers: sigmoid(a * logit(p) + b); (1, 0) keeps p.
    calibration: tuple[float, float] = (1.0, 0.0)
    # Each intent's name ("card_arrival" -> "card arrival") as this many more examples: chosen
    # on the folds when examples are few (it helps when names mean something; 0 otherwise).
    label_names: int = 0
    # The kNN view compares a question (embedded as e5's "query: ") with the examples embedded
    # as "passage: " instead of "query: ": chosen on the folds (few examples only). The question
    # is embedded once either way; the examples' second embedding is a training cost.
    knn_passages: bool = False
    logreg_c: float = EMBEDDING_C  # chosen on the folds among FEW_SHOT_CS
    # The quick view answers alone when its calibrated confidence is at least quick_threshold.
    quick_threshold: float = NEVER
    quick_temperature: float = 0.2
    quick_calibration: tuple[float, float] = (1.0, 0.0)
    validation: dict[str, float] = field(default_factory=dict)


@dataclass
class _Outputs:
    """Each view's scores for some messages, columns in the order of the intents."""

    margins: np.ndarray
    logreg: np.ndarray | None
    similarities: np.ndarray  # (messages, KNN_K) cosines of the nearest examples
    neighbours: np.ndarray  # (messages, KNN_K) their intents' columns
    quick: np.ndarray | None = None  # the quick view's margins, columns of _Views.quick_classes

    def knn(self, temperature: float, n_classes: int) -> np.ndarray:
        out = np.zeros((len(self.margins), n_classes))
        rows = np.repeat(np.arange(len(self.margins)), self.neighbours.shape[1])
        weights = np.exp((self.similarities.ravel() - 1.0) / temperature)
        np.add.at(out, (rows, self.neighbours.ravel()), weights)
        out /= np.maximum(out.sum(axis=1, keepdims=True), 1e-300)
        return out

    def select(self, rows: np.ndarray) -> _Outputs:
        return _Outputs(
            self.margins[rows],
            None if self.logreg is None else self.logreg[rows],
            self.similarities[rows],
            self.neighbours[rows],
            None if self.quick is None else self.quick[rows],
        )


class _Views:
    """The three classifiers over the same intents (sorted, as np.unique sorts them), and the
    quick view over the TF-IDF features alone, whose classes add OTHER when ``others`` are
    given."""

    def __init__(
        self,
        texts: list[str],
        labels: list[str],
        vectors: np.ndarray,
        logreg: bool = True,
        passages: np.ndarray | None = None,
        logreg_c: float = EMBEDDING_C,
        others: Sequence[str] = (),
    ) -> None:
        self.classes: np.ndarray = np.unique(np.array(labels))
        self.tfidf = _tfidf()
        words = self.tfidf.fit_transform(texts)
        self._fast = _Tfidf(self.tfidf)
        self.quick = LinearSVC(C=SVM_C)
        if others:
            self.quick.fit(
                vstack([words, self.tfidf.transform(list(others))]).tocsr(),
                list(labels) + [OTHER] * len(others),
            )
        else:
            self.quick.fit(words, labels)
        self.quick_classes: np.ndarray = np.asarray(self.quick.classes_)
        dims = min(PCA_DIMS, len(texts), vectors.shape[1])
        self.pca = PCA(dims, random_state=0).fit(vectors)
        projected = self.pca.transform(vectors)
        norm = float(np.sqrt((projected**2).sum(axis=1)).mean())
        self.scale = EMBEDDING_SCALE / max(norm, 1e-6)
        self.svm = LinearSVC(C=SVM_C)
        self.svm.fit(self._features(words, vectors), labels)
        self.logreg: LogisticRegression | None = None
        if logreg:
            self.logreg = LogisticRegression(C=logreg_c, max_iter=3000)
            self.logreg.fit(vectors, labels)
            assert list(self.logreg.classes_) == list(self.classes)
        assert list(self.svm.classes_) == list(self.classes)
        self.vectors = np.asarray(vectors, dtype=np.float32)
        self.passages = None if passages is None else np.asarray(passages, dtype=np.float32)
        self.label_columns = np.searchsorted(self.classes, np.array(labels))

    def _features(self, words: csr_matrix, vectors: np.ndarray) -> csr_matrix:
        # PCA.transform without its checks (no whitening): the same numbers.
        dense = (np.asarray(vectors) - self.pca.mean_) @ self.pca.components_.T * self.scale
        return hstack([words, csr_matrix(dense)]).tocsr()

    def words(self, texts: Sequence[str]) -> csr_matrix:
        out: csr_matrix = self._fast.transform(texts)
        return out

    def quick_margins(self, words: csr_matrix) -> np.ndarray:
        return _margins(self.quick, words)

    def outputs(
        self,
        texts: Sequence[str],
        vectors: np.ndarray,
        passages: bool = False,
        words: csr_matrix | None = None,
    ) -> _Outputs:
        """``passages``: the kNN view looks among the examples' "passage: " embeddings.
        ``words``: the texts' TF-IDF features when the caller has them already."""
        if words is None:
            words = self.words(texts)
        margins = _margins(self.svm, self._features(words, vectors))
        probs = None if self.logreg is None else self.logreg.predict_proba(vectors)
        sims, nearest = self.nearest(vectors, passages)
        return _Outputs(margins, probs, sims, nearest, self.quick_margins(words))

    def nearest(self, vectors: np.ndarray, passages: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Cosines of the KNN_K nearest examples and their intents' columns."""
        examples = self.passages if passages and self.passages is not None else self.vectors
        sims = np.asarray(vectors, dtype=np.float32) @ examples.T
        k = min(KNN_K, sims.shape[1])
        nearest = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        return np.take_along_axis(sims, nearest, axis=1), self.label_columns[nearest]


def _margins(svm: LinearSVC, features: csr_matrix) -> np.ndarray:
    """The SVM's decision function without its checks on every call (the same numbers), a
    binary SVM's one margin column as two (the second class's margin and its negation)."""
    margins = np.asarray(features @ svm.coef_.T) + svm.intercept_
    if margins.shape[1] == 1:
        return np.hstack([-margins, margins])
    return margins


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    out: np.ndarray = np.log(p) - np.log1p(-p)
    return out


def calibrated(top: np.ndarray, calibration: tuple[float, float]) -> np.ndarray:
    """The probability that the answer is right, from the blend's top probability."""
    a, b = calibration
    out: np.ndarray = 1.0 / (1.0 + np.exp(-(a * _logit(top) + b)))
    return out


def _fit_calibration(top: np.ndarray, right: np.ndarray) -> tuple[float, float]:
    """Platt scaling on the validation answers; identity when they cannot support it (all right,
    all wrong, or a fit that would not rise with the probability)."""
    if len(top) < 20 or right.all() or not right.any():
        return (1.0, 0.0)
    fit = LogisticRegression(C=100.0).fit(_logit(top).reshape(-1, 1), right.astype(int))
    a, b = float(fit.coef_[0, 0]), float(fit.intercept_[0])
    return (a, b) if a > 0 else (1.0, 0.0)


def blend(outputs: _Outputs, tuning: Tuning) -> np.ndarray:
    w_svm, w_logreg, w_knn = tuning.weights
    n_classes = outputs.margins.shape[1]
    out: np.ndarray = w_svm * _softmax(outputs.margins, tuning.temperature)
    if w_logreg and outputs.logreg is not None:
        out = out + w_logreg * outputs.logreg
    if w_knn:
        out = out + w_knn * outputs.knn(tuning.knn_temperature, n_classes)
    return out


class IntentModel:
    def __init__(self, views: _Views, tuning: Tuning, embedder: Embedder) -> None:
        self._views = views
        self.tuning = tuning
        self.embedder = embedder

    @property
    def intents(self) -> list[str]:
        return [str(c) for c in self._views.classes if c != OUT_OF_SCOPE]

    def probabilities(self, texts: Sequence[str], vectors: np.ndarray | None = None) -> np.ndarray:
        """The blend's probabilities (no quick look). ``vectors``: the texts' embeddings when
        the caller has them already."""
        if vectors is None:
            # Customers' messages are not cached: they are personal data, and mostly unique.
            vectors = self.embedder.embed_uncached(list(texts))
        return blend(self._views.outputs(texts, vectors, self.tuning.knn_passages), self.tuning)

    def quick(self, texts: Sequence[str], top: int = 3) -> list[Prediction | None]:
        """The answers the quick view (TF-IDF alone) is sure of, without embedding anything;
        None for the texts that need the whole model."""
        out: list[Prediction | None] = [None] * len(texts)
        if self.tuning.quick_threshold > 1.0 or not texts:
            return out
        classes = self._views.quick_classes
        probs = _softmax(
            self._views.quick_margins(self._views.words(texts)), self.tuning.quick_temperature
        )
        confidences = calibrated(probs.max(axis=1), self.tuning.quick_calibration)
        for n, (row, confidence) in enumerate(zip(probs, confidences, strict=True)):
            best = str(classes[int(row.argmax())])
            if best in (OUT_OF_SCOPE, OTHER) or confidence < self.tuning.quick_threshold:
                continue
            order = [i for i in np.argsort(-row) if classes[i] not in (OUT_OF_SCOPE, OTHER)]
            ranked = [(str(classes[i]), float(row[i])) for i in order[:top]]
            out[n] = Prediction(best, float(confidence), best, ranked, quick=True)
        return out

    def predict(
        self,
        texts: Sequence[str],
        top: int = 3,
        vectors: np.ndarray | None = None,
        cascade: bool = True,
    ) -> list[Prediction]:
        """Each text's intent: the quick view's when it is sure (``cascade``), the blend's
        otherwise. ``vectors``: the texts' embeddings when the caller has them already (one
        row each); without them only the texts the quick view is not sure of are embedded."""
        found: list[Prediction | None] = [None] * len(texts)
        if cascade:
            found = self.quick(texts, top)
        rest = [i for i, p in enumerate(found) if p is None]
        if rest:
            part = None if vectors is None else vectors[rest]
            answers = self._predict([texts[i] for i in rest], top, part)
            for i, answer in zip(rest, answers, strict=True):
                found[i] = answer
        return [p for p in found if p is not None]

    def _predict(
        self, texts: Sequence[str], top: int, vectors: np.ndarray | None
    ) -> list[Prediction]:
        probs = self.probabilities(texts, vectors)
        confidences = calibrated(probs.max(axis=1), self.tuning.calibration)
        out = []
        classes = self._views.classes
        for row, confidence in zip(probs, confidences, strict=True):
            order = [i for i in np.argsort(-row) if classes[i] != OUT_OF_SCOPE][:top]
            ranked = [(str(classes[i]), float(row[i])) for i in order]
            best = ranked[0][0]
            if classes[int(row.argmax())] == OUT_OF_SCOPE:  # like the out-of-scope examples
                confidence = calibrated(np.array([ranked[0][1]]), self.tuning.calibration)[0]
                intent = None
            else:
                intent = best if confidence >= self.tuning.threshold else None
            out.append(Prediction(intent, float(confidence), best, ranked))
        return out


def _folds(labels: list[str], rng: random.Random) -> list[tuple[list[int], list[int]]]:
    """Stratified (fit, validation) parts. With enough examples one split, each intent with at
    least three examples giving ~15 %; with few, FOLDS folds whose validation parts cover every
    example of intents that have two or more. Every fit part has every intent."""
    by_intent: dict[str, list[int]] = defaultdict(list)
    for i, label in enumerate(labels):
        by_intent[label].append(i)
    median = float(np.median([len(v) for v in by_intent.values()]))
    if median >= FOLDS_BELOW:
        fit, val = [], []
        for idx in by_intent.values():
            rng.shuffle(idx)
            n_val = max(1, round(len(idx) * VALIDATION_SHARE)) if len(idx) >= 3 else 0
            val += idx[:n_val]
            fit += idx[n_val:]
        return [(sorted(fit), sorted(val))]
    parts: list[list[int]] = [[] for _ in range(FOLDS)]
    offset = 0
    for idx in by_intent.values():
        if len(idx) < 2:
            continue
        rng.shuffle(idx)
        for j, i in enumerate(idx):
            parts[(offset + j) % FOLDS].append(i)
        offset += len(idx)
    everything = set(range(len(labels)))
    return [(sorted(everything - set(p)), sorted(p)) for p in parts if p]


def _weight_grid() -> list[tuple[float, float, float]]:
    steps = round(1 / WEIGHT_STEP)
    return [
        (a / steps, b / steps, (steps - a - b) / steps)
        for a, b in itertools.product(range(steps + 1), repeat=2)
        if a + b <= steps
    ]


def _best_blend(
    outputs: _Outputs,
    truth: np.ndarray,
    classes: np.ndarray,
    by_passage: _Outputs | None = None,
) -> Tuning:
    """``by_passage``: the same scores with the kNN view over the examples' "passage: "
    embeddings; chosen only when it gets more validation questions right."""
    best: tuple[float, float, Tuning] | None = None
    n_classes = len(classes)
    svm = {t: _softmax(outputs.margins, t) for t in TEMPERATURES}
    knn = {(False, t): outputs.knn(t, n_classes) for t in KNN_TEMPERATURES}
    if by_passage is not None:
        knn |= {(True, t): by_passage.knn(t, n_classes) for t in KNN_TEMPERATURES}
    logreg = outputs.logreg if outputs.logreg is not None else np.zeros_like(outputs.margins)
    grid = [w for w in _weight_grid() if outputs.logreg is not None or w[1] == 0]
    for (t, s), ((p, kt), k), (w_svm, w_lr, w_knn) in itertools.product(
        svm.items(), knn.items(), grid
    ):
        accuracy = float(
            (classes[(w_svm * s + w_lr * logreg + w_knn * k).argmax(1)] == truth).mean()
        )
        # Ties go to the most even blend: no single view is trusted for other languages; then
        # to the examples' "query: " embeddings (the kNN over "passage: " is listed last).
        evenness = -float(np.square(np.array([w_svm, w_lr, w_knn]) - 1 / 3).sum())
        if best is None or (accuracy, evenness) > best[:2]:
            best = (accuracy, evenness, Tuning((w_svm, w_lr, w_knn), t, kt, knn_passages=p))
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
    others: Sequence[str] = (),
) -> IntentModel:
    """Trains on all examples; ``tuning`` from an earlier training skips the validation runs
    (a retrain after a few examples changed). ``others``: texts no intent answers (small talk),
    which the quick view must not answer."""
    rng = random.Random(seed)
    rows = [(t, lab) for t, lab in zip(texts, labels, strict=True) if t.strip()]
    if len({lab for _, lab in rows if lab != OUT_OF_SCOPE}) < 2:
        raise ValueError("intent matching needs examples of at least two intents")
    # Out-of-scope examples are one more class: a question like them is refused whatever its
    # confidence, and the validation rows of that class set the threshold for the rest.
    in_texts = [t for t, _ in rows]
    in_labels = [lab for _, lab in rows]
    names = _names(sorted(set(in_labels) - {OUT_OF_SCOPE}))
    progress(f"embedding {len(in_texts)} examples")
    all_texts = in_texts + [t for t, _ in names]
    vectors = embedder.embed(all_texts)
    # The examples' "passage: " embeddings are tried on the folds (few examples), or kept when
    # an earlier training chose them.
    few = _median_count(in_labels) < FOLDS_BELOW
    passages = None
    if (tuning is None and few) or (tuning is not None and tuning.knn_passages):
        passages = embedder.embed(all_texts, passage=True)
    in_vecs = vectors[: len(in_texts)]
    extra = ([t for t, _ in names], [lab for _, lab in names], vectors[len(in_texts) :])
    in_pass = None if passages is None else passages[: len(in_texts)]
    extra_pass = None if passages is None else passages[len(in_texts) :]

    if tuning is None:
        tuning = _tune(
            in_texts, in_labels, in_vecs, extra, rng, progress, in_pass, extra_pass, others
        )
    progress("training on all examples")
    if tuning.label_names and names:
        copies = tuning.label_names
        in_texts, in_labels = in_texts + extra[0] * copies, in_labels + extra[1] * copies
        in_vecs = np.vstack([in_vecs] + [extra[2]] * copies)
        if in_pass is not None and extra_pass is not None:
            in_pass = np.vstack([in_pass] + [extra_pass] * copies)
    views = _Views(
        in_texts,
        in_labels,
        in_vecs,
        logreg=tuning.weights[1] > 0,
        passages=in_pass if tuning.knn_passages else None,
        logreg_c=tuning.logreg_c,
        others=others,
    )
    embedder.save()
    return IntentModel(views, tuning, embedder)


def _median_count(labels: Sequence[str]) -> float:
    return float(np.median(list(Counter(labels).values())))


def _names(intents: list[str]) -> list[tuple[str, str]]:
    """Intent names that read as words, as examples: ("card arrival", "card_arrival")."""
    out = []
    for intent in intents:
        name = " ".join(intent.replace("_", " ").replace("-", " ").replace(".", " ").split())
        if sum(ch.isalpha() for ch in name) >= 3:
            out.append((name, intent))
    return out


Extra = tuple[list[str], list[str], np.ndarray]


def _tune(
    texts: list[str],
    labels: list[str],
    vectors: np.ndarray,
    extra: Extra,
    rng: random.Random,
    progress: Progress,
    passages: np.ndarray | None = None,
    extra_passages: np.ndarray | None = None,
    others: Sequence[str] = (),
) -> Tuning:
    folds = _folds(labels, rng)
    if not folds or not folds[0][1]:
        return Tuning()
    all_labels = np.array(labels)
    val_rows = np.array(sorted(i for _, val in folds for i in val))
    truth = all_labels[val_rows]
    progress(f"choosing the blend on {len(val_rows)} validation examples ({len(folds)} parts)")
    if len(folds) < 2:
        passages = None
    tuning: Tuning | None = None
    outputs: _Outputs | None = None
    classes: np.ndarray | None = None
    few = len(folds) > 1
    for c, copies in itertools.product(
        FEW_SHOT_CS if few else (EMBEDDING_C,), (0,) + (NAME_COPIES if few and extra[0] else ())
    ):
        if copies:
            progress(f"trying the intents' names as examples ({copies} each), C={c}")
        times: Extra | None = None
        times_passages = None
        if copies:
            times = (extra[0] * copies, extra[1] * copies, np.vstack([extra[2]] * copies))
            if extra_passages is not None:
                times_passages = np.vstack([extra_passages] * copies)
        plain, classes, by_passage = _out_of_fold(
            texts, labels, vectors, folds, times, passages, times_passages, c, others
        )
        found = _best_blend(plain, truth, classes, by_passage)
        if tuning is None or found.validation["accuracy"] > tuning.validation["accuracy"]:
            tuning = found
            outputs = by_passage if found.knn_passages and by_passage is not None else plain
            tuning.label_names, tuning.logreg_c = copies, c
    assert tuning is not None and outputs is not None and classes is not None
    tuning = _threshold(
        tuning, texts, labels, vectors, folds, outputs, classes, rng, progress, passages
    )
    assert outputs.quick is not None
    quick_classes = np.unique(np.array(labels + ([OTHER] if others else [])))
    return _choose_quick(tuning, outputs, classes, quick_classes, truth)


def _out_of_fold(
    texts: list[str],
    labels: list[str],
    vectors: np.ndarray,
    folds: list[tuple[list[int], list[int]]],
    extra: Extra | None = None,
    passages: np.ndarray | None = None,
    extra_passages: np.ndarray | None = None,
    logreg_c: float = EMBEDDING_C,
    others: Sequence[str] = (),
) -> tuple[_Outputs, np.ndarray, _Outputs | None]:
    """Every view's scores for the validation rows (in ascending row order), each from the
    models fitted without them. ``extra`` examples join every fit part. With the examples'
    ``passages`` embeddings, the same scores with the kNN view over them come third."""
    all_labels = np.array(labels)
    val_rows = np.array(sorted(i for _, val in folds for i in val))
    position = {int(i): n for n, i in enumerate(val_rows)}
    n_classes = len(np.unique(all_labels))
    margins = np.zeros((len(val_rows), n_classes))
    probs = np.zeros((len(val_rows), n_classes))
    sims = np.zeros((len(val_rows), min(KNN_K, len(labels))))
    neighbours = np.zeros(sims.shape, dtype=np.int64)
    p_sims, p_neighbours = sims.copy(), neighbours.copy()
    quick = np.zeros((len(val_rows), n_classes + (1 if others else 0)))
    views: _Views | None = None
    logreg = len(texts) <= LOGREG_MAX_EXAMPLES
    for fit, val in folds:
        fit_texts, fit_labels = [texts[i] for i in fit], [labels[i] for i in fit]
        fit_vectors = vectors[fit]
        if extra is not None:
            fit_texts, fit_labels = fit_texts + extra[0], fit_labels + extra[1]
            fit_vectors = np.vstack([fit_vectors, extra[2]])
        fit_passages = None
        if passages is not None:
            fit_passages = passages[fit]
            if extra_passages is not None:
                fit_passages = np.vstack([fit_passages, extra_passages])
        views = _Views(fit_texts, fit_labels, fit_vectors, logreg, fit_passages, logreg_c, others)
        out = views.outputs([texts[i] for i in val], vectors[val])
        assert len(views.classes) == n_classes  # every fit part has every intent
        at = np.array([position[i] for i in val])
        # The fit part may hold more rows than the labels (the intent names): at most KNN_K.
        k = min(out.similarities.shape[1], sims.shape[1])
        margins[at] = out.margins
        assert out.quick is not None
        quick[at] = out.quick
        if out.logreg is not None:
            probs[at] = out.logreg
        sims[at, :k], neighbours[at, :k] = out.similarities[:, :k], out.neighbours[:, :k]
        if k < sims.shape[1]:
            sims[at, k:], neighbours[at, k:] = -1.0, out.neighbours[:, :1]
        if fit_passages is not None:
            ps, pn = views.nearest(vectors[val], passages=True)
            p_sims[at, :k], p_neighbours[at, :k] = ps[:, :k], pn[:, :k]
            if k < sims.shape[1]:
                p_sims[at, k:], p_neighbours[at, k:] = -1.0, pn[:, :1]
    outputs = _Outputs(margins, probs if logreg else None, sims, neighbours, quick)
    by_passage = None
    if passages is not None:
        by_passage = _Outputs(margins, outputs.logreg, p_sims, p_neighbours, quick)
    assert views is not None
    return outputs, views.classes, by_passage


def _threshold(
    tuning: Tuning,
    texts: list[str],
    labels: list[str],
    vectors: np.ndarray,
    folds: list[tuple[list[int], list[int]]],
    outputs: _Outputs,
    classes: np.ndarray,
    rng: random.Random,
    progress: Progress,
    passages: np.ndarray | None = None,
) -> Tuning:
    """Calibration and the out-of-scope threshold, on the validation rows' scores."""
    all_labels = np.array(labels)
    truth = all_labels[np.array(sorted(i for _, val in folds for i in val))]
    probs = blend(outputs, tuning)
    right = classes[probs.argmax(1)] == truth
    tuning.calibration = _fit_calibration(probs.max(1), right)
    conf = calibrated(probs.max(1), tuning.calibration)
    tuning.validation["examples_per_intent"] = float(np.median(list(Counter(labels).values())))

    if OUT_OF_SCOPE in classes:
        # Rows answered with an intent: an in-scope one counts when right and accepted, an
        # out-of-scope one when refused. Rows put in the out-of-scope class are refused anyway.
        predicted = classes[probs.argmax(1)]
        answered = predicted != OUT_OF_SCOPE
        known = truth != OUT_OF_SCOPE
        tuning.threshold = _best_threshold(
            conf[answered & known], right[answered & known], conf[answered & ~known]
        )
        tuning.validation["refused"] = float(((conf < tuning.threshold) | ~answered).mean())
        return tuning
    # No out-of-scope examples: some intents play the unknown questions.
    intents = sorted(set(labels))
    if len(intents) < 5:
        return tuning
    held = set(rng.sample(intents, max(1, round(len(intents) * HELD_OUT_INTENTS))))
    progress(f"choosing the threshold with {len(held)} intents held out")
    fit, val = folds[0]
    fit_known = [i for i in fit if labels[i] not in held]
    views = _Views(
        [texts[i] for i in fit_known],
        [labels[i] for i in fit_known],
        vectors[fit_known],
        logreg=tuning.weights[1] > 0,
        passages=passages[fit_known] if passages is not None and tuning.knn_passages else None,
        logreg_c=tuning.logreg_c,
    )
    held_probs = blend(
        views.outputs([texts[i] for i in val], vectors[val], tuning.knn_passages), tuning
    )
    held_conf = calibrated(held_probs.max(1), tuning.calibration)
    known = np.array([labels[i] not in held for i in val])
    held_right = views.classes[held_probs.argmax(1)] == all_labels[val]
    threshold = _best_threshold(
        held_conf[known], held_right[known], held_conf[~known], UNKNOWN_SHARE
    )
    tuning.validation["held_out_threshold"] = threshold
    tuning.threshold = min(threshold, LOW_CONFIDENCE)
    tuning.validation["refused"] = float((conf < tuning.threshold).mean())
    return tuning


def _choose_quick(
    tuning: Tuning,
    outputs: _Outputs,
    classes: np.ndarray,
    quick_classes: np.ndarray,
    truth: np.ndarray,
) -> Tuning:
    """The quick view's temperature, calibration and threshold: the one that lets it answer
    most validation questions alone while it gets wrong at most QUICK_TOLERANCE of them that
    the blend gets right. A question counts as right when the answer given is its intent, or
    when an out-of-scope question is refused.

    Only its losses count, not the questions it gets right that the blend gets wrong: with
    few examples those wins are noise, and letting them pay for losses chose thresholds that
    answered far more questions quickly on new data than on the validation part (10 per
    intent: 44 % of the validation questions, 56 % of the test's, costing 1.3 points)."""
    if outputs.quick is None or len(truth) < QUICK_MIN_ROWS:
        return tuning
    probs = blend(outputs, tuning)
    answer = classes[probs.argmax(1)]
    refused = (answer == OUT_OF_SCOPE) | (
        calibrated(probs.max(1), tuning.calibration) < tuning.threshold
    )
    blend_right = np.where(refused, truth == OUT_OF_SCOPE, answer == truth)
    floor = max(QUICK_FLOOR, tuning.threshold)
    best: tuple[int, float, float, tuple[float, float]] | None = None
    for temperature in TEMPERATURES:
        quick = _softmax(outputs.quick, temperature)
        guess = quick_classes[quick.argmax(1)]
        eligible = (guess != OUT_OF_SCOPE) & (guess != OTHER)
        quick_right = guess == truth
        calibration = _fit_calibration(quick.max(1)[eligible], quick_right[eligible])
        confidence = np.where(eligible, calibrated(quick.max(1), calibration), -1.0)
        # Answering quickly every question at or above a threshold: the questions it would
        # lose, over the thresholds from the most confident answer down.
        order = np.argsort(-confidence, kind="stable")
        lost = np.cumsum(~quick_right[order] & blend_right[order])
        for n in range(len(order), 0, -1):
            threshold = float(confidence[order[n - 1]])
            if threshold < floor or (n < len(order) and confidence[order[n]] == threshold):
                continue  # below the floor, or not every question at this confidence is in
            if lost[n - 1] <= QUICK_TOLERANCE * len(truth):
                if best is None or n > best[0]:
                    best = (n, threshold, temperature, calibration)
                break
    tuning.validation["quick_share"] = 0.0
    if best is not None:
        n, tuning.quick_threshold, tuning.quick_temperature, tuning.quick_calibration = best
        tuning.validation["quick_share"] = n / len(truth)
    return tuning
