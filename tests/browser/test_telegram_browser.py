"""A customer writes to the bot in Telegram, the agent answers in the workspace (real
Chromium), and the answer reaches Telegram's API as a sendMessage call."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from omniline.jobs.runner import Runner
from tests.channels.telegram.fake_telegram import FakeTelegram
from tests.channels.telegram.helpers import CHAT, make_bot, message
from tests.conftest import Demo, LiveServer

pytestmark = pytest.mark.browser

XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture
def fake_telegram() -> Iterator[FakeTelegram]:
    server = FakeTelegram()
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def job_runner(live_server: LiveServer) -> AsyncIterator[None]:
    """Deliveries run in the live server's process, as `omniline serve` runs them."""
    runner = Runner(poll_seconds=0.2)
    runner.start()
    yield
    await runner.stop()


async def _login(page: Any, base: str, email: str, password: str) -> None:
    await page.goto(f"{base}/login")
    await page.fill("input[name=email]", email)
    await page.fill("input[name=password]", password)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{base}/app**")


async def _sent_text(fake: FakeTelegram, text: str) -> dict[str, Any]:
    for _ in range(200):
        for call in fake.called("sendMessage"):
            if text in str(call.params.get("text")):
                return call.params
        await asyncio.sleep(0.05)
    raise AssertionError(f"no sendMessage with {text!r}: {fake.calls}")


async def test_telegram_customer_and_agent(
    browser: Any, live_server: LiveServer, demo: Demo, fake_telegram: FakeTelegram, job_runner: None
) -> None:
    base = live_server.url
    bot = await make_bot(demo, fake_telegram)
    dialogs: list[str] = []
    ctx = await browser.new_context(locale="en-US")
    agent = await ctx.new_page()
    agent.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    await _login(agent, base, "agent@demo.omniline", "demo-agent")
    await agent.wait_for_selector("[data-testid=stream-status][data-state=open]")

    async with httpx.AsyncClient(base_url=base) as http:
        r = await http.post(
            bot.path, json=message(text=f"When is my payment due? {XSS}"), headers=bot.headers
        )
    assert r.status_code == 200, r.text

    row = agent.locator("[data-testid=conv-row]").filter(has_text="When is my payment due")
    await row.first.wait_for(timeout=10_000)
    assert "Ivan Petrov" in await row.first.inner_text()
    await row.first.click()
    incoming = agent.locator(
        "[data-testid=timeline] [data-testid=message][data-author-type=contact]"
    )
    await incoming.first.wait_for()
    assert XSS in await incoming.first.inner_text()
    assert await agent.locator("[data-testid=timeline] img[src=x]").count() == 0

    await agent.fill("[data-testid=reply-input]", "On the 15th, Ivan. Thank you!")
    await agent.click("[data-testid=reply-send]")

    sent = await _sent_text(fake_telegram, "On the 15th, Ivan")
    assert sent["chat_id"] == str(CHAT)
    assert sent["text"] == "On the 15th, Ivan. Thank you!"
    # The agent sees the reply marked as sent without reloading.
    await agent.locator("[data-testid=timeline] [data-delivery=sent]").first.wait_for(
        timeout=10_000
    )
    assert dialogs == []
    await ctx.close()
