"""The same flow over Telegram (native inline keyboard, callback presses) and as email text
(numbered options, digits understood); FAQ answers matched across languages."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from omniline.bots.engine import Say
from omniline.bots.turns import shown
from tests.bots.support import Crm, admin, conversation, crm_fixture, lender_flow, publish
from tests.channels.telegram.fake_telegram import FakeTelegram
from tests.channels.telegram.helpers import CHAT, make_bot, message, messages_of, post, run_jobs
from tests.conftest import Demo

crm = pytest.fixture(crm_fixture)


@pytest.fixture
def fake_telegram() -> Iterator[FakeTelegram]:
    server = FakeTelegram()
    server.start()
    yield server
    server.stop()


def callback(data: str, keyboard: dict[str, object], n: int) -> dict[str, object]:
    """A press of an inline button under the bot's message ``keyboard`` was sent with."""
    return {
        "update_id": 900_000 + n,
        "callback_query": {
            "id": f"cb{n}",
            "from": {"id": CHAT, "is_bot": False, "first_name": "Ivan"},
            "message": {
                "message_id": 77 + n,
                "chat": {"id": CHAT, "type": "private"},
                "date": 1_790_000_000,
                "text": "menu",
                "reply_markup": keyboard,
            },
            "data": data,
        },
    }


async def test_the_flow_over_telegram(
    client: httpx.AsyncClient, demo: Demo, fake_telegram: FakeTelegram, crm: Crm
) -> None:
    bot = await make_bot(demo, fake_telegram)
    await publish(client, await admin(client), lender_flow(crm.url), inbox_id=bot.inbox_id)
    r = await post(client, bot, message(text="Привет"))
    assert r.status_code == 200
    await run_jobs()
    (sent,) = fake_telegram.called("sendMessage")
    assert sent.params["text"] == "Hello! How can we help?"
    keyboard = sent.params["reply_markup"]
    rows = keyboard["inline_keyboard"]
    assert [row[0]["text"] for row in rows] == [
        "Loan status",
        "Talk to a person",
        "Nothing, thanks",
    ]
    r = await post(client, bot, callback(rows[1][0]["callback_data"], keyboard, 1))
    assert r.status_code == 200
    await run_jobs()
    texts = [c.params["text"] for c in fake_telegram.called("sendMessage")]
    assert texts[-1] == "I am passing you to a colleague. Please wait a moment."
    conv_id = (await messages_of(bot.inbox_id))[0].conversation_id
    conv = await conversation(conv_id)
    assert (conv.status, conv.topic) == ("queued", "person")
    # The press was stored with its label, as the customer saw it.
    assert (await messages_of(bot.inbox_id))[2].text == "Talk to a person"


def test_email_gets_numbered_options_and_links() -> None:
    say = Say(
        "How can we help?",
        [
            {"text": "Loan status", "payload": "menu/0"},
            {"text": "Talk to a person", "payload": "menu/1"},
            {"text": "Our rates", "url": "https://lender.example/rates"},
        ],
    )
    text, meta = shown(say, "email", "ru")
    assert meta == {}
    assert text == (
        "How can we help?\n\n1. Loan status\n2. Talk to a person\n"
        "Our rates: https://lender.example/rates\n"
        "Ответьте номером выбранного варианта."
    )
    text, meta = shown(say, "telegram", "en")
    assert text == "How can we help?" and meta["buttons"] == say.buttons


FAQ_FLOW = {
    "languages": ["en", "uk"],
    "fallback_language": "en",
    "start": "menu",
    "nodes": [
        {
            "id": "menu",
            "type": "menu",
            "faq": True,
            "text": {"en": "Choose or ask", "uk": "Оберіть або запитайте"},
            "options": [{"label": {"en": "Person", "uk": "Людина"}, "next": "person"}],
        },
        {"id": "person", "type": "handoff"},
    ],
    "faq": [
        {
            "key": "card_lost",
            "examples": {
                "en": [
                    "I lost my card",
                    "my card was stolen",
                    "block my card please",
                    "I can't find my bank card",
                ]
            },
            "answer": {"en": "Block it in the app.", "uk": "Заблокуйте її в застосунку."},
        },
        {
            "key": "repay_early",
            "examples": {
                "en": [
                    "how do I repay the loan early",
                    "can I pay off my credit before the due date",
                    "early repayment of the loan",
                    "I want to close my loan now",
                ]
            },
            "answer": {"en": "Pay in full in the app.", "uk": "Сплатіть усе в застосунку."},
        },
        {
            "key": "holidays",
            "examples": {
                "en": [
                    "can I get credit holidays",
                    "I need to postpone my payments",
                    "pause my loan repayments",
                    "payment holiday please",
                ]
            },
            "answer": {"en": "Apply in the app.", "uk": "Подайте заяву в застосунку."},
        },
    ],
}


async def test_faq_answers_a_ukrainian_question_from_english_examples(
    client: httpx.AsyncClient, demo: Demo
) -> None:
    from tests.bots.support import Customer

    await publish(client, await admin(client), FAQ_FLOW, inbox_id=demo.inbox_id, secret=None)
    c = await Customer.open(client, locale="uk")
    await c.send("Добрий день")
    assert [m["text"] for m in await c.replies()] == ["Оберіть або запитайте"]
    await c.send("Я загубив свою банківську картку")
    texts = [m["text"] for m in await c.replies()]
    assert texts == ["Заблокуйте її в застосунку.", "Оберіть або запитайте"]
    # A question no entry covers is not answered with a guess.
    await c.send("Яка погода завтра у Києві?")
    texts = [m["text"] for m in await c.replies()]
    assert texts == [
        "Вибачте, я не зрозумів. Будь ласка, оберіть один із варіантів.",
        "Оберіть або запитайте",
    ]
    assert (await conversation(c.conversation_id)).status == "bot"
