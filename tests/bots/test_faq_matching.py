"""Serving the FAQ matcher fast without changing its answers: questions batched together get
the answers they get alone, an example word for word skips the model, and a question matched
ahead of its turn (bots/ahead.py) leaves a conversation's turns once each and in order."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import httpx
import pytest

from omniline.bots import ahead, faq
from omniline.bots.engine import Input, asks_faq
from omniline.bots.graph import Graph
from omniline.config import Settings
from omniline.demo.bot import GREETING
from tests.bots.support import Customer, admin, publish
from tests.channels.telegram.helpers import run_jobs
from tests.conftest import Demo

QUESTIONS = [
    "Can I repay my loan early?",
    "Могу ли я закрыть кредит досрочно?",
    "Які документи потрібні для позики?",
    "What interest rate do you charge on loans?",
    "Как оплатить кредит картой?",
    "Скільки відсотків по позиці?",
    "Where can I pay for my loan?",
    "Нужен ли паспорт для займа?",
    "thanks a lot",  # small talk: refused
    "What is the weather in Kyiv tomorrow?",
    "ok " * 400,  # long
]


@pytest.fixture
def demo_model(settings: Settings) -> tuple[tuple[str, float], Graph, faq.FaqModel]:
    graph = Graph.model_validate(GREETING)
    key = ("test-faq-matching", 1.0)
    fm = faq._train_sync(key, graph)
    assert fm is not None
    return key, graph, fm


def _same(
    alone: Sequence[tuple[str | None, float]], batched: Sequence[tuple[str | None, float]]
) -> None:
    assert [a[0] for a in batched] == [a[0] for a in alone]
    # The embeddings are the same bits; the classifier's matrix products of a batch sum in
    # another order than one row's (BLAS), which moves a confidence by about 1e-7 at most.
    assert [a[1] for a in batched] == pytest.approx([a[1] for a in alone], abs=1e-6)


def test_batched_predictions_are_the_ones_of_each_question_alone(
    demo_model: tuple[Any, Graph, faq.FaqModel],
) -> None:
    _, _, fm = demo_model
    alone = [faq._predict(fm, q) for q in QUESTIONS]
    assert [a[0] for a in alone[:8]] == [
        "early_repayment",
        "early_repayment",
        "documents",
        "interest_rate",
        "repay_methods",
        "interest_rate",
        "repay_methods",
        "documents",
    ]
    assert alone[8][0] is None
    _same(alone, faq._predict_many([(fm, q) for q in QUESTIONS]))
    # Any mix and order of questions, and of models.
    shuffled = QUESTIONS[::-1]
    _same([faq._predict(fm, q) for q in shuffled], faq._predict_many([(fm, q) for q in shuffled]))


def test_questions_the_quick_look_is_sure_of_are_not_embedded_and_answered_alike(
    demo_model: tuple[Any, Graph, faq.FaqModel], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, _, fm = demo_model
    assert fm.model is not None and fm.model.tuning.quick_threshold <= 1.0
    e = faq.embedder()
    real = e.embed_uncached
    embedded: list[str] = []

    def counted(texts: Sequence[str]) -> Any:
        embedded.extend(texts)
        return real(texts)

    monkeypatch.setattr(e, "embed_uncached", counted)
    answers = faq._predict_many([(fm, q) for q in QUESTIONS])
    asked = list(embedded)
    # The whole model (the small-talk gate, then the blend) gives each the same intent.
    whole = [faq._decide(fm, [q], real([q]))[0] for q in QUESTIONS]
    assert [a[0] for a in answers] == [w[0] for w in whole]
    assert 0 < len(asked) < len(QUESTIONS) - 2  # most questions were answered quickly
    # Small talk and the unknown are never answered by the quick look: they go to the gate.
    assert {"thanks a lot", "What is the weather in Kyiv tomorrow?"} <= set(asked)


async def test_questions_asked_together_are_matched_in_batches_each_as_alone(
    demo_model: tuple[Any, Graph, faq.FaqModel], monkeypatch: pytest.MonkeyPatch
) -> None:
    key, graph, fm = demo_model
    sizes: list[int] = []
    real = faq._predict_many

    def counted(asks: Sequence[tuple[faq.FaqModel, str]]) -> list[tuple[str | None, float]]:
        sizes.append(len(asks))
        return real(asks)

    monkeypatch.setattr(faq, "_predict_many", counted)
    answers = await asyncio.gather(*(faq.match(key, graph, q) for q in QUESTIONS))
    _same([faq._predict(fm, q[:2000]) for q in QUESTIONS], answers)
    assert sum(sizes) == len(QUESTIONS)
    assert max(sizes) == faq.MAX_BATCH  # they waited together, and went in batches
    assert len(sizes) < len(QUESTIONS)


async def test_a_failing_batch_fails_its_questions_and_the_next_ones_still_go(
    demo_model: tuple[Any, Graph, faq.FaqModel], monkeypatch: pytest.MonkeyPatch
) -> None:
    key, graph, _ = demo_model
    real = faq._predict_many
    calls = 0

    def once_broken(asks: Sequence[tuple[faq.FaqModel, str]]) -> list[tuple[str | None, float]]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("broken")
        return real(asks)

    monkeypatch.setattr(faq, "_predict_many", once_broken)
    with pytest.raises(RuntimeError):
        await faq.match(key, graph, QUESTIONS[0])
    assert (await faq.match(key, graph, QUESTIONS[2]))[0] == "documents"


async def test_an_example_word_for_word_is_answered_without_the_model(
    demo_model: tuple[Any, Graph, faq.FaqModel], monkeypatch: pytest.MonkeyPatch
) -> None:
    key, graph, _ = demo_model

    def no_model(asks: Any) -> Any:
        raise AssertionError("the model was asked")

    monkeypatch.setattr(faq, "_predict_many", no_model)
    assert await faq.match(key, graph, "  Can I repay EARLY?! ") == ("early_repayment", 1.0)
    assert await faq.match(key, graph, "Нужен ли паспорт?") == ("documents", 1.0)
    with pytest.raises(AssertionError):  # a paraphrase goes to the model
        await faq.match(key, graph, "Can I repay my loan early?")


def test_an_example_two_intents_share_is_left_to_the_model() -> None:
    exact = faq.exact_examples(
        ["Card", "card!", "loan", "help", "Help"], ["cards", "cards", "loans", "cards", "loans"]
    )
    assert exact == {"card": "cards", "loan": "loans"}


def test_which_inputs_the_matcher_is_asked_about() -> None:
    graph = Graph.model_validate(GREETING)
    menu = next(n for n in graph.nodes if n.type == "menu" and n.faq)
    label = menu.options[0].label["en"]
    assert asks_faq(graph, menu.id, Input("Can I repay my loan early?"))
    assert not asks_faq(graph, menu.id, Input(label))  # a menu option typed
    assert not asks_faq(graph, menu.id, Input("1"))
    assert not asks_faq(graph, menu.id, Input(label, payload=f"{menu.id}/0"))
    assert not asks_faq(graph, menu.id, Input("operator"))
    assert not asks_faq(graph, menu.id, Input("   "))
    assert not asks_faq(graph, None, Input("Can I repay my loan early?"))


def faq_flow() -> dict[str, Any]:
    """A menu that answers typed questions from two intents; 1 asks for a phone number."""
    return {
        "languages": ["en"],
        "fallback_language": "en",
        "start": "menu",
        "nodes": [
            {
                "id": "menu",
                "type": "menu",
                "text": {"en": "Ask me, or choose."},
                "faq": True,
                "options": [
                    {"label": {"en": "Call me back"}, "next": "phone"},
                    {"label": {"en": "Nothing, thanks"}, "next": "bye"},
                ],
            },
            {
                "id": "phone",
                "type": "ask",
                "text": {"en": "Your phone number?"},
                "variable": "phone",
                "check": "phone",
                "retries": 2,
                "next": "bye",
            },
            {"id": "bye", "type": "end", "text": {"en": "Goodbye!"}},
        ],
        "faq": [
            {
                "key": "early",
                "examples": {"en": ["can I repay early", "pay off the whole loan now",
                                    "close the loan before the term"]},
                "answer": {"en": "Early repayment is free."},
            },
            {
                "key": "documents",
                "examples": {"en": ["what documents do I need", "do I need a passport",
                                    "which papers are required"]},
                "answer": {"en": "A passport is enough."},
            },
        ],
    }  # fmt: skip


@pytest.fixture
async def faq_inbox(client: httpx.AsyncClient, demo: Demo) -> int:
    return await publish(client, await admin(client), faq_flow(), inbox_id=demo.inbox_id)


@pytest.fixture
def asked(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The texts the model was asked about."""
    texts: list[str] = []
    real = faq._predict_many

    def counted(asks: Sequence[tuple[faq.FaqModel, str]]) -> list[tuple[str | None, float]]:
        texts.extend(t for _, t in asks)
        return real(asks)

    monkeypatch.setattr(faq, "_predict_many", counted)
    return texts


async def test_two_questions_at_once_are_answered_once_each_in_order(
    client: httpx.AsyncClient, faq_inbox: int, asked: list[str]
) -> None:
    c = await Customer.open(client)
    await c.send("hi")
    assert [m["text"] for m in await c.replies()] == ["Ask me, or choose."]
    await c.send("Is it possible to pay off my loan early?", run=False)
    await c.send("Is a passport required?", run=False)
    await run_jobs()
    assert [m["text"] for m in await c.replies()] == [
        "Early repayment is free.",
        "Ask me, or choose.",
        "A passport is enough.",
        "Ask me, or choose.",
    ]
    # Both were matched ahead of their turn, and only then: the turn did not match again.
    # ("hi" opened the conversation: a first message is looked up once, in case it asks.)
    assert sorted(asked) == [
        "Is a passport required?",
        "Is it possible to pay off my loan early?",
        "hi",
    ]
    assert not ahead._pending()


async def test_a_question_matched_ahead_for_a_node_the_flow_left_is_read_as_the_new_nodes(
    client: httpx.AsyncClient, faq_inbox: int, asked: list[str]
) -> None:
    """ "1" moves the flow to the phone question; the text after it, sent at once, was matched
    ahead against the menu, but the turn reads it at the phone question (in order)."""
    c = await Customer.open(client)
    await c.send("hi")
    await c.replies()
    await c.send("1", run=False)
    await c.send("Is a passport required?", run=False)
    await run_jobs()
    texts = [m["text"] for m in await c.replies()]
    assert texts[0] == "Your phone number?"
    assert texts[-1] == "Your phone number?"  # the question was read as a wrong phone number
    assert "A passport is enough." not in texts
    assert asked == ["hi", "Is a passport required?"]  # the head start, wasted but harmless


async def test_a_turn_matches_by_itself_when_nothing_was_matched_ahead(
    client: httpx.AsyncClient, faq_inbox: int, asked: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process took the message, or the head start was forgotten: same answer."""
    monkeypatch.setattr(ahead, "start", lambda *args: None)
    c = await Customer.open(client)
    await c.send("hi")
    await c.replies()
    await c.send("Is a passport required?")
    assert (await c.replies())[0]["text"] == "A passport is enough."
    assert asked == ["hi", "Is a passport required?"]
