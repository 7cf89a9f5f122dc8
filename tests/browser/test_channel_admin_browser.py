"""An admin connects a messenger from the Inboxes page and tests the connection."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from omniline.inboxes.channel_types import ChannelType, channel_type_registered
from tests.conftest import Demo, LiveServer
from tests.workspaces.test_channel_pages import GOOD_TOKEN, TEST_CHANNEL

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def test_channel() -> Iterator[ChannelType]:
    with channel_type_registered(TEST_CHANNEL) as ct:
        yield ct


async def test_admin_connects_and_tests_a_channel(
    browser: Any, live_server: LiveServer, demo: Demo
) -> None:
    base = live_server.url
    ctx = await browser.new_context(locale="en-US")
    page = await ctx.new_page()
    await page.goto(f"{base}/login")
    await page.fill("input[name=email]", "admin@demo.omniline")
    await page.fill("input[name=password]", "demo-admin")
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{base}/app**")

    await page.goto(f"{base}/admin")
    await page.get_by_role("link", name="Inboxes", exact=True).click()
    await page.get_by_text("Connect a channel").click()
    await page.get_by_role("link", name="Test Messenger").click()
    await page.wait_for_url(f"{base}/admin/inboxes/connect/testchat")

    await page.fill("input[name=name]", "Lender bot")
    await page.select_option("select[name=default_queue_id]", label="First line")
    await page.fill("input[name=setting_token]", "not-the-token")
    await page.fill("input[name=setting_server_url]", "https://chat.example")
    await page.get_by_text("Advanced").click()
    await page.fill("input[name=setting_api_base]", "https://proxy.bank.example")
    await page.get_by_role("button", name="Connect", exact=True).click()
    await page.wait_for_url(f"{base}/admin/channels/*")
    await page.get_by_text("The channel was connected.").wait_for()
    webhook = page.locator("[data-testid=setup-value]")
    assert "/channels/testchat/" in await webhook.input_value()

    await page.get_by_role("button", name="Test connection").click()
    result = page.locator("[data-testid=test-result]")
    await result.wait_for()
    assert await result.get_attribute("data-ok") == "false"
    assert "Wrong token for Lender bot" in await result.inner_text()

    # A new token, then the test passes; the token itself is never shown again.
    await page.fill("input[name=setting_token]", GOOD_TOKEN)
    await page.get_by_role("button", name="Save", exact=True).click()
    await page.get_by_text("The settings were saved.").wait_for()
    await page.get_by_role("button", name="Test connection").click()
    result = page.locator("[data-testid=test-result]")
    await result.wait_for()
    assert await result.get_attribute("data-ok") == "true"
    assert "Connected as @lender_bot" in await result.inner_text()
    assert GOOD_TOKEN not in await page.content()
    await ctx.close()
