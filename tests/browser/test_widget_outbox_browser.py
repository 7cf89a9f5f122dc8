"""In real Chromium: a visitor presses Send and leaves the page before the server has answered
(logs in on the lender's site, follows a link). The next page view sends the message again,
and the server keeps it once, whether the first attempt reached it or not."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from omniline import db
from omniline.conversations.models import Message
from tests.conftest import Demo, LiveServer

pytestmark = pytest.mark.browser

STORED = "[data-testid=widget-message][data-author-type=contact]:not([data-client-id])"


async def _chat(site: Any) -> Any:
    await site.wait_for_selector("#omniline-bubble")
    if not await site.locator("#omniline-frame").is_visible():
        await site.click("#omniline-bubble")
    frame = site.frame_locator("#omniline-frame")
    await frame.locator("[data-testid=widget-input]").wait_for()
    return frame


async def _send_and_leave(site: Any, base: str, text: str, reach_server: bool) -> None:
    """Send ``text`` while its request hangs, then go to another page of the site."""
    held: list[Any] = []

    async def hold(route: Any) -> None:
        if route.request.method != "POST" or held:
            await route.fallback()
            return
        held.append(route)  # never answered: the navigation below cancels it
        if reach_server:
            await route.fetch()  # the server stores it; the page is gone before the answer

    frame = await _chat(site)
    await site.route("**/api/v1/widget/messages", hold)
    await frame.locator("[data-testid=widget-input]").fill(text)
    await frame.locator("[data-testid=widget-send]").click()
    await frame.locator("[data-testid=widget-message][data-client-id]").wait_for()
    while not held:
        await site.wait_for_timeout(50)
    if reach_server:
        await site.wait_for_timeout(300)  # time for the fetch to reach the server
    await site.goto(f"{base}/demo/site")


async def _stored_texts() -> list[str]:
    async with db.sessionmaker()() as session:
        rows = await session.scalars(
            select(Message.text).where(Message.direction == "in").order_by(Message.id)
        )
        return [t or "" for t in rows]


async def test_a_message_sent_as_the_page_closes_is_sent_on_the_next_page(
    browser: Any, live_server: LiveServer, demo: Demo
) -> None:
    base = live_server.url
    ctx = await browser.new_context(locale="en-US")
    site = await ctx.new_page()
    await site.goto(f"{base}/demo/site")

    await _send_and_leave(site, base, "Where is my card?", reach_server=False)
    frame = await _chat(site)
    mine = frame.locator(STORED)
    await mine.first.wait_for(timeout=15_000)
    assert "Where is my card?" in await mine.first.inner_text()

    await _send_and_leave(site, base, "It was sent a week ago", reach_server=True)
    frame = await _chat(site)
    mine = frame.locator(STORED)
    await mine.nth(1).wait_for(timeout=15_000)
    await site.wait_for_timeout(500)  # a wrongly repeated send would land meanwhile
    assert await mine.count() == 2
    assert await frame.locator("[data-testid=widget-message][data-client-id]").count() == 0
    texts = await _stored_texts()
    assert texts.count("Where is my card?") == 1
    assert texts.count("It was sent a week ago") == 1

    # Nothing is left to send: one more page view sends nothing again.
    await site.goto(f"{base}/demo/site")
    frame = await _chat(site)
    await frame.locator(STORED).nth(1).wait_for()
    await site.wait_for_timeout(500)
    assert await frame.locator(STORED).count() == 2
    assert len(await _stored_texts()) == len(texts)
    await ctx.close()
