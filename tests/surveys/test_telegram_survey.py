"""Telegram: the survey as inline buttons; a press or a bare digit is the answer."""

from __future__ import annotations

import httpx
from sqlalchemy import func, select

from omniline import db
from omniline.conversations.models import Conversation
from tests.channels.telegram.fake_telegram import FakeTelegram
from tests.channels.telegram.helpers import (
    CHAT,
    Bot,
    conversation,
    make_bot,
    message,
    post,
    user,
)
from tests.conftest import Demo
from tests.surveys.support import answers, enable, handled_and_resolved, requests_of, run_jobs


async def _chat_resolved(
    client: httpx.AsyncClient, demo: Demo, fake: FakeTelegram, chat: int = CHAT
) -> tuple[Bot, int]:
    bot = await make_bot(demo, fake)
    await enable(client, bot.inbox_id, texts={"en": {"thanks": "Thanks a lot!"}})
    r = await post(client, bot, message(chat, text="I cannot log in"))
    assert r.status_code == 200, r.text
    async with db.sessionmaker()() as session:
        conv_id = await session.scalar(
            select(Conversation.id).where(Conversation.inbox_id == bot.inbox_id)
        )
    assert conv_id is not None
    await handled_and_resolved(client, demo, conv_id)
    await run_jobs()
    return bot, conv_id


def _keyboard(fake: FakeTelegram) -> list[str]:
    sent = [c for c in fake.called("sendMessage") if "reply_markup" in c.params]
    assert len(sent) == 1, [c.params for c in fake.called("sendMessage")]
    markup = sent[0].params["reply_markup"]
    rows = markup["inline_keyboard"] if isinstance(markup, dict) else []
    return [row[0]["callback_data"] for row in rows]


async def _conversations(inbox_id: int) -> int:
    async with db.sessionmaker()() as session:
        count = await session.scalar(
            select(func.count()).select_from(Conversation).where(Conversation.inbox_id == inbox_id)
        )
        return int(count or 0)


async def test_a_button_press_is_the_answer_and_is_thanked(
    client: httpx.AsyncClient, demo: Demo, fake_telegram: FakeTelegram
) -> None:
    bot, conv_id = await _chat_resolved(client, demo, fake_telegram)
    (req,) = await requests_of(conv_id)
    assert _keyboard(fake_telegram) == [f"survey:{req.id}:{n}" for n in range(1, 6)]
    press = {
        "update_id": 9001,
        "callback_query": {
            "id": "cbq-survey-1",
            "from": user(),
            "chat_instance": "-1",
            "data": f"survey:{req.id}:4",
            "message": {
                "message_id": 42,
                "chat": {"id": CHAT, "type": "private"},
                "date": 1_790_000_000,
                "text": "How would you rate our help?",
            },
        },
    }
    r = await post(client, bot, press)
    assert r.status_code == 200, r.text
    await run_jobs()
    (answer,) = await answers(client)
    assert (answer["score"], answer["channel"], answer["agent_id"]) == (
        4,
        "telegram",
        demo.users["agent"],
    )
    assert "Thanks a lot!" in [c.params.get("text") for c in fake_telegram.called("sendMessage")]
    # The answer does not reopen the case nor start a new one.
    assert (await conversation(conv_id)).status == "resolved"
    assert await _conversations(bot.inbox_id) == 1


async def test_a_bare_digit_answers_the_pending_survey(
    client: httpx.AsyncClient, demo: Demo, fake_telegram: FakeTelegram
) -> None:
    bot, conv_id = await _chat_resolved(client, demo, fake_telegram)
    r = await post(client, bot, message(text=" 2 "))
    assert r.status_code == 200, r.text
    (answer,) = await answers(client)
    assert answer["score"] == 2
    assert (await conversation(conv_id)).status == "resolved"
    assert await _conversations(bot.inbox_id) == 1
    # Once answered, a digit is an ordinary message again: a new question.
    r = await post(client, bot, message(text="3"))
    assert r.status_code == 200, r.text
    new_case = await _conversations(bot.inbox_id) == 2
    assert new_case or (await conversation(conv_id)).status != "resolved"
    assert len(await answers(client)) == 1


async def test_a_digit_without_a_survey_is_an_ordinary_message(
    client: httpx.AsyncClient, demo: Demo, fake_telegram: FakeTelegram
) -> None:
    bot = await make_bot(demo, fake_telegram)
    await enable(client, bot.inbox_id)
    r = await post(client, bot, message(text="5"))
    assert r.status_code == 200, r.text
    assert await _conversations(bot.inbox_id) == 1
    assert await answers(client) == []
