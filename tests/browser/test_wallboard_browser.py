"""In real Chromium: a supervisor watches the wallboard; a customer writes in the widget's API
and the queue's waiting count changes without a reload; the full-screen button goes dark."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.browser.conftest import sign_in
from tests.conftest import Demo, LiveServer, bearer, visitor

pytestmark = pytest.mark.browser

FIRST_LINE_WAITING = "[data-testid=wb-queue][data-queue-id='{q}'] [data-testid=wb-waiting]"


async def test_the_waiting_count_updates_without_a_reload(
    browser: Any, live_server: LiveServer, demo: Demo
) -> None:
    base = live_server.url
    ctx = await browser.new_context(locale="en-US")
    page = await ctx.new_page()
    await sign_in(page, base, "supervisor@demo.omniline", "demo-supervisor")
    await page.goto(f"{base}/wallboard")
    await page.wait_for_selector("[data-testid=stream-status][data-state=open]")
    waiting = page.locator(FIRST_LINE_WAITING.format(q=demo.queues["First line"]))
    assert await waiting.inner_text() == "0"
    await page.evaluate("window.__notReloaded = true")

    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        for text in ("Where is my loan?", "<img src=x onerror=alert(1)> hello"):
            guest = await visitor(http)
            r = await http.post(
                "/api/v1/widget/messages", json={"text": text}, headers=bearer(guest)
            )
            assert r.status_code == 201, r.text
    await page.wait_for_function(
        "(sel) => document.querySelector(sel)?.textContent === '2'",
        arg=FIRST_LINE_WAITING.format(q=demo.queues["First line"]),
        timeout=5_000,
    )
    assert await page.evaluate("window.__notReloaded") is True
    anna = page.locator("[data-testid=wb-agent]", has_text="Anna Agent")
    assert await anna.get_attribute("data-state") == "offline"
    # Never available today: no occupancy, a dash rather than 0 %.
    assert await anna.locator("[data-testid=wb-occupancy]").inner_text() == "—"

    # Full screen needs a user gesture: the click is one; the board turns dark and large.
    await page.click("[data-testid=wb-fullscreen]")
    await page.wait_for_selector(".wb.wb-fullscreen", timeout=5_000)
    background = await page.evaluate(
        "getComputedStyle(document.querySelector('.wb')).backgroundColor"
    )
    assert background == "rgb(13, 17, 23)"
    await ctx.close()
