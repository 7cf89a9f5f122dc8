"""In real Chromium: a visitor chats anonymously on the lender's site, logs in, and the chat goes
on as the verified customer; after logging out, the next person at that browser sees nothing."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Demo, LiveServer

pytestmark = pytest.mark.browser


async def _open_chat(site: Any) -> Any:
    await site.wait_for_selector("#omniline-bubble")
    if not await site.locator("#omniline-frame").is_visible():
        await site.click("#omniline-bubble")
    return site.frame_locator("#omniline-frame")


async def test_anonymous_chat_follows_the_customer_into_the_login(
    browser: Any, live_server: LiveServer, demo: Demo
) -> None:
    base = live_server.url
    ctx = await browser.new_context(locale="en-US")
    site = await ctx.new_page()
    warnings: list[str] = []
    site.on("console", lambda m: warnings.append(m.text) if m.type == "warning" else None)

    await site.goto(f"{base}/demo/site")
    frame = await _open_chat(site)
    await frame.locator("[data-testid=widget-input]").fill("Can I repay my loan early?")
    await frame.locator("[data-testid=widget-send]").click()
    # Stored by the server (the pending bubble carries its client id until then).
    stored = "[data-testid=widget-message][data-author-type=contact]:not([data-client-id])"
    await frame.locator(stored).first.wait_for()

    # The customer logs in on the lender's site: the page now carries a signed identity.
    await site.goto(f"{base}/demo/site?as=client-42")
    await site.wait_for_selector("[data-testid=demo-logged-in]")
    frame = await _open_chat(site)
    mine = frame.locator(stored)
    await mine.first.wait_for(timeout=30_000)
    assert "Can I repay my loan early?" in await mine.first.inner_text()
    await frame.locator("[data-testid=widget-input]").fill("Logged in now")
    await frame.locator("[data-testid=widget-send]").click()
    await mine.nth(1).wait_for(timeout=30_000)
    assert not [w for w in warnings if "identity refused" in w], warnings

    # Logged out: the same browser starts an empty anonymous chat.
    await site.goto(f"{base}/demo/site")
    frame = await _open_chat(site)
    await frame.locator("[data-testid=widget-input]").wait_for()
    await site.wait_for_timeout(500)
    assert await frame.locator("[data-testid=widget-message]").count() == 0
    await ctx.close()
