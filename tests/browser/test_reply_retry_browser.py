"""A reply whose answer is lost (stored, but the network dropped the response) is sent again
by the reply box with the same Idempotency-Key: the customer gets it once."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import expect
from sqlalchemy import select

from omniline import db
from omniline.conversations.models import Message
from tests.browser.test_merge_browser import login
from tests.conftest import Demo, LiveServer
from tests.contacts.people import make_inbox, writes

pytestmark = pytest.mark.browser


async def test_a_reply_whose_answer_is_lost_is_stored_once(
    browser: Any, live_server: LiveServer, demo: Demo
) -> None:
    inbox_id = await make_inbox(demo, "telegram")
    conv = await writes(demo, inbox_id, "chat-9", name="Olena", text="Is my card ready?")
    page = await login(browser, live_server.url, "agent@demo.omniline", "demo-agent")
    await page.goto(f"{live_server.url}/app?c={conv.conversation_id}")
    keys: list[str] = []

    async def lose_the_first_answer(route: Any) -> None:
        if route.request.method != "POST":
            await route.continue_()
            return
        keys.append(route.request.headers.get("idempotency-key", ""))
        if len(keys) == 1:
            await route.fetch()  # the server stores the reply...
            await route.abort("connectionreset")  # ...and its answer never arrives
        else:
            await route.continue_()

    await page.route(
        f"**/api/v1/conversations/{conv.conversation_id}/messages", lose_the_first_answer
    )
    await page.fill("[data-testid=reply-input]", "Yes, it is at the branch")
    await page.click("[data-testid=reply-send]")
    mine = page.locator("[data-testid=timeline] [data-testid=message][data-direction=out]")
    await mine.first.wait_for(timeout=10_000)
    await expect(page.locator("[data-testid=reply-input]")).to_have_value("", timeout=10_000)
    assert len(keys) == 2 and keys[0] == keys[1] and len(keys[0]) >= 32
    assert await mine.count() == 1
    assert await page.locator(".composer-error").is_hidden()

    await page.fill("[data-testid=reply-input]", "Anything else?")
    await page.click("[data-testid=reply-send]")
    await expect(mine).to_have_count(2, timeout=10_000)
    assert len(keys) == 3 and keys[2] != keys[0]
    async with db.sessionmaker()() as session:
        texts = list(
            await session.scalars(
                select(Message.text)
                .where(Message.conversation_id == conv.conversation_id, Message.direction == "out")
                .order_by(Message.id)
            )
        )
    assert texts == ["Yes, it is at the branch", "Anything else?"]
