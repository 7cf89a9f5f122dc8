"""The SLA countdown in the agent workspace (real Chromium; skipped without it)."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from omniline.jobs.runner import Runner
from tests.browser.conftest import browser
from tests.conftest import Demo, LiveServer
from tests.sla.conftest import Clock, customer_writes, make_policy

__all__ = ["browser"]
pytestmark = pytest.mark.browser


async def test_countdown_in_row_and_header_turns_red_on_breach(
    live_server: LiveServer, demo: Demo, browser: Any, clock: Clock
) -> None:
    base = live_server.url
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        await make_policy(http, demo)
        _, conv_id = await customer_writes(http)
    page = await browser.new_page()
    await page.goto(f"{base}/login")
    await page.fill("input[name=email]", "agent@demo.omniline")
    await page.fill("input[name=password]", "demo-agent")
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{base}/app**")
    await page.goto(f"{base}/app?c={conv_id}")
    await page.select_option("[data-testid=list-sort]", "due")  # reloads the list due first

    row = page.locator(f"[data-testid=conv-row][data-id='{conv_id}'] [data-testid=sla-countdown]")
    await row.wait_for(timeout=10_000)
    assert re.fullmatch(r"\d{1,2}:\d{2}", (await row.text_content()) or "")
    assert await row.get_attribute("data-state") == "running"
    header = page.locator("[data-testid=conv-sla] [data-testid=sla-countdown]")
    await header.wait_for(timeout=10_000)

    clock.advance(601)  # the server's clock: the breach job runs and pushes the update
    await Runner().run_due()
    row_sel = f"[data-testid=conv-row][data-id='{conv_id}']"
    red = page.locator(f"{row_sel} [data-testid=sla-countdown][data-state=breached]")
    await red.wait_for(timeout=10_000)
    assert "badge-danger" in ((await red.get_attribute("class")) or "")
    await page.close()
