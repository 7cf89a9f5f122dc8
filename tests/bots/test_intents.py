"""Intent matching: trained from a few example phrases, understood across languages, unknown
questions refused, and `omniline nlu evaluate` prints what it promises."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from omniline.bots.embeddings import Embedder
from omniline.bots.intents import (
    LOW_CONFIDENCE,
    NEVER,
    OTHER,
    OUT_OF_SCOPE,
    QUICK_MIN_ROWS,
    Tuning,
    _choose_quick,
    _fit_calibration,
    _names,
    _Outputs,
    calibrated,
    train,
)

# One worker runs the module (pytest-xdist): its fixtures are module-scoped.
pytestmark = pytest.mark.xdist_group("intents")

EXAMPLES = {
    "card_arrival": [
        "When will my new card arrive?",
        "My card still has not arrived",
        "How long does card delivery take?",
        "I am still waiting for my card",
        "Where is the card you sent me?",
        "The bank card has not come in the post yet",
    ],
    "loan_repayment": [
        "How can I repay my loan early?",
        "I want to pay off the loan before the due date",
        "Can I make an early repayment?",
        "What are the options to repay the credit?",
        "How do I pay my monthly loan instalment?",
        "Where can I pay back the loan?",
    ],
    "credit_holidays": [
        "Can I get credit holidays?",
        "I lost my job, can I postpone loan payments?",
        "Is it possible to pause my repayments for a few months?",
        "I need a payment holiday on my loan",
        "Can you defer my credit payments?",
        "I cannot pay this month, can I delay the payment?",
    ],
}
OOS = [
    "What is the weather tomorrow?",
    "Play some music",
    "Who won the football match?",
    "Tell me a joke about cats",
    "How tall is the Eiffel tower?",
    "Recommend a good movie",
]


def _rows(with_oos: bool) -> tuple[list[str], list[str]]:
    texts = [t for items in EXAMPLES.values() for t in items]
    labels = [k for k, items in EXAMPLES.items() for _ in items]
    if with_oos:
        texts += OOS
        labels += [OUT_OF_SCOPE] * len(OOS)
    return texts, labels


@pytest.fixture(scope="module")
def embedder(tmp_path_factory: pytest.TempPathFactory) -> Embedder:
    return Embedder(tmp_path_factory.mktemp("nlu-cache"))


def test_english_examples_understand_ukrainian_and_russian_questions(embedder: Embedder) -> None:
    model = train(*_rows(with_oos=True), embedder, seed=1)
    questions = {
        "Коли прийде моя нова картка?": "card_arrival",
        "Як достроково погасити кредит?": "loan_repayment",
        "Можна відкласти платежі за кредитом на кілька місяців?": "credit_holidays",
        "Когда придёт моя карта?": "card_arrival",
    }
    predictions = model.predict(list(questions))
    assert [p.best for p in predictions] == list(questions.values())


def test_an_unknown_question_is_refused_when_oos_examples_are_given(
    embedder: Embedder,
) -> None:
    model = train(*_rows(with_oos=True), embedder, seed=1)
    assert model.intents == sorted(EXAMPLES)  # out of scope is no intent to answer with
    (weather,) = model.predict(["Will it rain in Kyiv on Saturday?"])
    assert weather.intent is None
    assert weather.best in EXAMPLES and 0.0 <= weather.confidence <= 1.0
    (music,) = model.predict(["Увімкни якусь музику"])  # Ukrainian, like an English oos row
    assert music.intent is None
    (card,) = model.predict(["my card has not arrived yet, when will it come?"])
    assert card.intent == "card_arrival"


def test_without_oos_examples_only_nearly_hopeless_answers_are_refused(
    embedder: Embedder,
) -> None:
    model = train(*_rows(with_oos=False), embedder, seed=1)
    assert 0.0 <= model.tuning.threshold <= LOW_CONFIDENCE
    predictions = model.predict(["When will my card arrive?", "Can I delay my loan payment?"])
    assert [p.intent for p in predictions] == ["card_arrival", "credit_holidays"]
    assert all(0.0 <= p.confidence <= 1.0 for p in predictions)


def test_confidence_is_calibrated_on_the_validation_answers() -> None:
    rng = np.random.default_rng(0)
    top = rng.uniform(0.05, 0.95, 2000)
    right = rng.uniform(size=2000) < top**2  # the raw probability overstates it
    a, b = _fit_calibration(top, right)
    assert a > 0
    for p in (0.2, 0.5, 0.8):
        assert abs(float(calibrated(np.array([p]), (a, b))[0]) - p**2) < 0.08
    # Too little evidence, or none against: the probability is kept as it is.
    assert _fit_calibration(top[:10], right[:10]) == (1.0, 0.0)
    assert _fit_calibration(top, np.ones(2000, dtype=bool)) == (1.0, 0.0)
    assert calibrated(np.array([0.3]), (1.0, 0.0))[0] == pytest.approx(0.3)


def _validation(
    n: int, quick_right_when_sure: bool, seed: int = 0
) -> tuple[_Outputs, np.ndarray, np.ndarray]:
    """Validation scores of two intents "a" and "b" (and OTHER for the quick view): the blend
    right on 90 % of the rows; the quick view sure (a margin of 3) on half of them, where it
    is right or wrong as asked, and vague on the rest (0 against -0.05), right on half."""
    rng = np.random.default_rng(seed)
    classes = np.array(["a", "b"])
    truth = classes[rng.integers(0, 2, n)]
    column = (truth == "b").astype(int)
    blend_right = rng.uniform(size=n) < 0.9
    picked = np.where(blend_right, column, 1 - column)
    margins = np.full((n, 2), -1.0)
    margins[np.arange(n), picked] = 1.0
    sure = np.arange(n) % 2 == 0
    quick_right = np.where(sure, quick_right_when_sure, rng.uniform(size=n) < 0.5)
    quick = np.full((n, 3), -1.0)  # columns: OTHER, "a", "b" (sorted)
    quick[np.arange(n), 1 + np.where(quick_right, column, 1 - column)] = np.where(sure, 3.0, 0.0)
    quick[np.arange(n), 1 + np.where(quick_right, 1 - column, column)] = np.where(sure, -1.0, -0.05)
    neighbours = np.repeat(picked[:, None], 2, axis=1)
    outputs = _Outputs(margins, None, np.ones((n, 2)), neighbours, quick)
    return outputs, classes, truth


def test_the_quick_look_answers_alone_only_what_the_validation_part_shows_it_gets_right() -> None:
    quick_classes = np.array(sorted([OTHER, "a", "b"]))
    outputs, classes, truth = _validation(400, quick_right_when_sure=True)
    tuning = _choose_quick(Tuning(weights=(1.0, 0.0, 0.0)), outputs, classes, quick_classes, truth)
    # Its sure half is always right: it answers that half alone, and only that half.
    assert tuning.validation["quick_share"] == pytest.approx(0.5)
    assert 0.5 <= tuning.quick_threshold <= 1.0
    # Sure and wrong: the cascade would cost accuracy, so it never answers alone.
    outputs, classes, truth = _validation(400, quick_right_when_sure=False)
    tuning = _choose_quick(Tuning(weights=(1.0, 0.0, 0.0)), outputs, classes, quick_classes, truth)
    assert tuning.quick_threshold == NEVER
    assert tuning.validation["quick_share"] == 0.0
    # Its wins where the blend is wrong do not pay for its losses where the blend is right.
    outputs, classes, truth = _validation(400, quick_right_when_sure=True)
    assert outputs.quick is not None
    blend_right = classes[outputs.margins.argmax(1)] == truth
    sure_and_blend_right = np.flatnonzero((np.arange(400) % 2 == 0) & blend_right)[:3]
    outputs.quick[sure_and_blend_right, 1:] = outputs.quick[sure_and_blend_right, 1:][:, ::-1]
    tuning = _choose_quick(Tuning(weights=(1.0, 0.0, 0.0)), outputs, classes, quick_classes, truth)
    assert tuning.quick_threshold == NEVER
    # Too few validation answers to tell: never either.
    outputs, classes, truth = _validation(QUICK_MIN_ROWS - 1, quick_right_when_sure=True)
    tuning = _choose_quick(Tuning(weights=(1.0, 0.0, 0.0)), outputs, classes, quick_classes, truth)
    assert tuning.quick_threshold == NEVER


def test_a_question_the_quick_look_is_sure_of_is_not_embedded(
    embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    texts, labels = _rows(with_oos=False)
    model = train(texts, labels, embedder, seed=1)
    model.tuning.quick_threshold = 0.0  # every answer of the quick look is taken
    question = "When will my card arrive? I am still waiting for it"

    def no_embedding(texts: object) -> np.ndarray:
        raise AssertionError("embedded")

    monkeypatch.setattr(embedder, "embed_uncached", no_embedding)
    (answer,) = model.predict([question])
    assert answer.intent == "card_arrival"
    # The quick look off: the whole model embeds the question.
    model.tuning.quick_threshold = NEVER
    with pytest.raises(AssertionError, match="embedded"):
        model.predict([question])


def test_examples_embedded_as_passages_are_cached_apart_from_queries(tmp_path: Path) -> None:
    first = Embedder(tmp_path)
    text = "When will my new card arrive?"
    query, passage = first.embed([text]), first.embed([text], passage=True)
    assert float(query[0] @ passage[0]) < 0.999  # e5's two prefixes give two vectors
    assert float(query[0] @ passage[0]) > 0.8  # of the same meaning
    first.save()
    again = Embedder(tmp_path)  # a new process: both come from the disk cache
    assert np.allclose(again.embed([text], passage=True), passage)
    assert np.allclose(again.embed([text]), query)
    assert again._model is None


def test_a_knn_over_passage_embeddings_answers_and_survives_a_retrain(
    embedder: Embedder,
) -> None:
    texts, labels = _rows(with_oos=False)
    questions = {
        "my card never came, where is it?": "card_arrival",
        "Як достроково погасити кредит?": "loan_repayment",
        "can I skip a few loan payments, I have no money": "credit_holidays",
    }
    # The nearest examples alone, compared as e5 passages with the question as a query.
    only_knn = Tuning(weights=(0.0, 0.0, 1.0), knn_passages=True)
    model = train(texts, labels, embedder, seed=1, tuning=only_knn)
    assert [p.best for p in model.predict(list(questions))] == list(questions.values())
    # A retrain with the tuning an earlier training chose answers as that training did.
    chosen = train(texts, labels, embedder, seed=1)
    again = train(texts, labels, embedder, seed=1, tuning=chosen.tuning)
    assert np.allclose(chosen.probabilities(list(questions)), again.probabilities(list(questions)))
    assert [p.best for p in again.predict(list(questions))] == list(questions.values())


def test_intent_names_that_read_as_words_become_examples() -> None:
    assert _names(["card_arrival", "pay-bill", "faq.17", "x_1", "42"]) == [
        ("card arrival", "card_arrival"),
        ("pay bill", "pay-bill"),
        ("faq 17", "faq.17"),
    ]


def test_any_text_is_answered_without_an_error(embedder: Embedder) -> None:
    model = train(*_rows(with_oos=False), embedder, seed=1)
    odd = ["", " ", "🙂" * 50, "x" * 20_000, "مرحبا كيف حالك", "\x00\x01", "1234 5678"]
    for prediction in model.predict(odd):
        assert 0.0 <= prediction.confidence <= 1.0
        assert prediction.best in EXAMPLES


def test_one_intent_is_not_enough(embedder: Embedder) -> None:
    with pytest.raises(ValueError, match="at least two intents"):
        train(["hello", "hi"], ["greeting", "greeting"], embedder)


def _write(path: Path, rows: list[tuple[str, str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["text", "category"])
        writer.writerows(rows)
    return path


def test_the_evaluate_command_prints_the_promised_figures(tmp_path: Path) -> None:
    texts, labels = _rows(with_oos=True)
    train_csv = _write(tmp_path / "train.csv", list(zip(texts, labels, strict=True)))
    test_csv = _write(
        tmp_path / "test.csv",
        [
            ("коли буде готова моя картка", "card_arrival"),
            ("хочу погасити кредит раніше", "loan_repayment"),
            ("what's the capital of France", OUT_OF_SCOPE),
        ],
    )
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "omniline",
            "nlu",
            "evaluate",
            "--train",
            str(train_csv),
            "--test",
            str(test_csv),
            "--shots",
            "5",
            "--seed",
            "3",
            "--json",
            "--cache-dir",
            str(tmp_path / "cache"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    figures = json.loads(run.stdout)
    assert set(figures) == {
        "accuracy",
        "macro_f1",
        "in_scope_accuracy",
        "oos_recall",
        "train_seconds",
        "predict_ms_p99",
    }
    assert 0 <= figures["accuracy"] <= 1 and figures["train_seconds"] > 0
    assert "embedding" in run.stderr  # progress goes to stderr, the JSON alone to stdout


def test_the_evaluate_command_explains_a_bad_csv(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("question,label\nhello,greeting\n", encoding="utf-8")
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "omniline",
            "nlu",
            "evaluate",
            "--train",
            str(bad),
            "--test",
            str(bad),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 2
    assert "header must be 'text,category'" in run.stderr


def test_the_summary_says_how_many_questions_the_quick_look_answered() -> None:
    from omniline.bots.intent_evaluation import Report, summary

    report = Report(0.9, 0.9, 0.9, None, 3.0, 20.0, 100, 50, 5, 0.25, 0.6, 0.93)
    assert "answered without the embedding 60.0% (TF-IDF alone at confidence >= 0.930)" in (
        summary(report)
    )
    never = Report(0.9, 0.9, 0.9, None, 3.0, 20.0, 100, 50, 5, 0.25, 0.0, NEVER)
    assert "never sure enough" in summary(never)


def test_the_fast_transforms_give_scikit_learns_numbers(embedder: Embedder) -> None:
    from scipy.sparse import hstack

    from omniline.bots.intents import _margins

    model = train(*_rows(with_oos=True), embedder, seed=1)
    views = model._views
    texts = [
        "When will my card arrive?",
        "Коли прийде моя картка???",
        "",
        "😀 ok",
        "pay " * 500,
        "Можно ли отложить платёж по кредиту на месяц",
    ]
    words = views.words(texts)
    assert abs(words - views.tfidf.transform(texts)).max() < 1e-12
    assert np.allclose(_margins(views.quick, words), views.quick.decision_function(words))
    vectors = embedder.embed_uncached(texts)
    features = views._features(words, vectors)
    dense = views.pca.transform(vectors) * views.scale
    # The embeddings are float32: the two orders of the same sums differ in the 7th digit.
    assert abs(features - hstack([words, dense]).tocsr()).max() < 1e-5
    assert np.allclose(_margins(views.svm, features), views.svm.decision_function(features))
