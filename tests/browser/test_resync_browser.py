"""In real Chromium: events are lost on their way (as in an overload or a Redis outage), the
server tells the workspace to resync, and it shows every message without a page reload."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from omniline.realtime.service import get_realtime
from tests.browser.conftest import sign_in
from tests.conftest import Demo, LiveServer, bearer, visitor

pytestmark = pytest.mark.browser


async def test_after_a_resync_the_workspace_shows_every_message(
    browser: Any, live_server: LiveServer, demo: Demo
) -> None:
    base = live_server.url
    ctx = await browser.new_context(locale="en-US")
    page = await ctx.new_page()
    await sign_in(page, base, "agent@demo.omniline", "demo-agent")

    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        guest = await visitor(http)
        first = await http.post(
            "/api/v1/widget/messages", json={"text": "first, seen live"}, headers=bearer(guest)
        )
        conv_id = first.json()["conversation_id"]
        row = page.locator("[data-testid=conv-row]").first
        await row.wait_for(timeout=10_000)
        await row.click()
        timeline = page.locator("[data-testid=timeline] [data-testid=message]")
        await timeline.first.wait_for()

        # The realtime pushes of the next messages are lost (the bus delivers nothing).
        bus = get_realtime().bus
        listeners, bus._listeners = bus._listeners, []
        try:
            other = await visitor(http)
            await http.post(
                "/api/v1/widget/messages", json={"text": "lost push 1"}, headers=bearer(guest)
            )
            await http.post(
                "/api/v1/widget/messages", json={"text": "a new customer"}, headers=bearer(other)
            )
        finally:
            bus._listeners = listeners
        await page.wait_for_timeout(500)
        assert await page.locator("text=lost push 1").count() == 0

        get_realtime().hub.resync_all()  # what the server does after a gap
        await page.locator("[data-testid=timeline]", has_text="lost push 1").wait_for(
            timeout=10_000
        )
        await page.locator("[data-testid=conv-row]", has_text="a new customer").wait_for(
            timeout=10_000
        )
        assert conv_id
    await ctx.close()
