"""The demo lender's bot, as `make demo` installs it: three languages, the application status
from the demo CRM over real HTTP, FAQ answers to typed questions, complaints to their queue."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from omniline import db
from omniline.bots.graph import Graph
from omniline.bots.validator import validate
from omniline.config import Settings
from omniline.demo import bot
from tests.bots.support import Customer, conversation
from tests.conftest import Demo, LiveServer


@pytest.fixture
async def site(
    live_server: LiveServer, demo: Demo, settings: Settings
) -> AsyncIterator[httpx.AsyncClient]:
    # The bot's HTTP step calls this installation's own demo CRM at its public address.
    settings.public_base_url = live_server.url
    async with db.unit_of_work() as session:
        await bot.install(session, demo.workspace_id, demo.inbox_id)
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        yield client


def test_the_demo_flow_passes_the_checks() -> None:
    graph = Graph.model_validate(bot.GREETING)
    queues = ["First line", "Business assistants", "Tech support", "Complaints"]
    assert validate(graph, flow_key="greeting", queues=queues, secrets=["crm_token"]) == []


async def test_application_status_in_russian_through_the_demo_crm(
    site: httpx.AsyncClient,
) -> None:
    c = await Customer.open(site, locale="ru-RU")
    await c.send("Добрый день")
    (menu,) = await c.replies()
    assert menu["text"].startswith("Здравствуйте! Я помощник MicroLend.")
    await c.send("Статус заявки", menu["buttons"][0]["payload"])
    assert (await c.replies())[0]["text"].startswith("Напишите номер телефона")
    await c.send("+380 67 111 22 33")
    texts = [m["text"] for m in await c.replies()]
    assert texts[0] == ("Ваша заявка на 15000 грн: на рассмотрении. Следующий платёж: —.")
    assert texts[1] == "Что-нибудь ещё?"


async def test_a_typed_question_gets_the_faq_answer_in_ukrainian(
    site: httpx.AsyncClient,
) -> None:
    c = await Customer.open(site, locale="uk")
    await c.send("Привіт")
    await c.replies()
    await c.send("Чи можна погасити позику достроково?")
    texts = [m["text"] for m in await c.replies()]
    assert texts[0].startswith("Так, будь-коли й без комісії")


async def test_a_question_in_the_first_message_is_answered_after_the_greeting(
    site: httpx.AsyncClient,
) -> None:
    c = await Customer.open(site, locale="ru-RU")
    await c.send("Здравствуйте, как оплатить кредит картой?")
    menu, answer = await c.replies()
    assert menu["text"].startswith("Здравствуйте! Я помощник MicroLend.") and menu["buttons"]
    assert answer["text"].startswith("Оплатить можно в приложении MicroLend")
    # The conversation goes on at the menu: a choice after it works as usual.
    await c.send("Статус заявки", menu["buttons"][0]["payload"])
    assert (await c.replies())[0]["text"].startswith("Напишите номер телефона")


@pytest.mark.parametrize("first", ["Добрый день", "1", "asdfgh qwerty"])
async def test_a_first_message_that_is_no_known_question_gets_the_greeting_alone(
    site: httpx.AsyncClient, first: str
) -> None:
    c = await Customer.open(site, locale="ru-RU")
    await c.send(first)
    (menu,) = await c.replies()
    assert menu["text"].startswith("Здравствуйте! Я помощник MicroLend.")


async def test_a_complaint_goes_to_the_complaints_queue(
    site: httpx.AsyncClient, demo: Demo
) -> None:
    c = await Customer.open(site)
    await c.send("Hello")
    await c.replies()
    await c.send("Complaint")
    conv = await conversation(c.conversation_id)
    assert (conv.status, conv.topic, conv.priority) == ("queued", "complaint", 5)
    assert conv.queue_id == demo.queues["Complaints"]
