"""An agent sees that a Telegram customer also wrote from WhatsApp and merges the two
contacts from the sidebar; a colleague with the WhatsApp chat open sees it change live."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Demo, LiveServer
from tests.contacts.people import telegram_and_whatsapp

pytestmark = pytest.mark.browser


async def login(browser: Any, base: str, email: str, password: str) -> Any:
    ctx = await browser.new_context(locale="en-US")
    page = await ctx.new_page()
    await page.goto(f"{base}/login")
    await page.fill("input[name=email]", email)
    await page.fill("input[name=password]", password)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{base}/app**")
    await page.wait_for_selector("[data-testid=stream-status][data-state=open]")
    return page


async def test_merge_two_channels_of_one_customer(
    browser: Any, live_server: LiveServer, demo: Demo
) -> None:
    base = live_server.url
    ivan, same = await telegram_and_whatsapp(demo)
    anna = await login(browser, base, "agent@demo.omniline", "demo-agent")
    boris = await login(browser, base, "agent2@demo.omniline", "demo-agent")
    await boris.goto(f"{base}/app?c={same.conversation_id}")
    await boris.locator("[data-testid=contact-name]").filter(has_text="Visitor").wait_for()

    await anna.goto(f"{base}/app?c={ivan.conversation_id}")
    side = anna.locator("#contact-sidebar")
    await side.locator("[data-testid=contact-name]").filter(has_text="Ivan Petrenko").wait_for()
    badge = side.locator("[data-testid=contact-not-verified]")
    assert "ask for identification" in await badge.inner_text()
    assert await anna.locator(".conv-head [data-channel=telegram]").count() == 1

    dupe = side.locator(f"[data-testid=duplicate][data-contact-id='{same.contact_id}']")
    await dupe.wait_for()
    assert "WhatsApp" in await dupe.inner_text()
    assert "same phone" in await dupe.inner_text()

    # Cancelling the confirmation changes nothing.
    await dupe.locator("[data-testid=merge-contact]").click()
    dialog = anna.locator("#merge-dialog")
    await dialog.wait_for()
    assert "Ivan Petrenko" in await dialog.inner_text()
    await dialog.locator("[data-action=cancel]").click()
    await dialog.wait_for(state="hidden")
    assert await side.locator("[data-testid=contact-conversations] li").count() == 1

    await dupe.locator("[data-testid=merge-contact]").click()
    await anna.locator("[data-testid=merge-confirm]").click()

    convs = side.locator("[data-testid=contact-conversations] li")
    await convs.nth(1).wait_for(timeout=10_000)
    texts = [await convs.nth(i).inner_text() for i in range(await convs.count())]
    assert any("WhatsApp" in x for x in texts) and any("Telegram" in x for x in texts)
    await side.locator("[data-testid=same-person]").wait_for(state="hidden")
    event = anna.locator("[data-testid=timeline] [data-testid=event][data-type=contact_merged]")
    await event.wait_for(timeout=10_000)
    assert "Merged with Visitor #" in await event.inner_text()

    # The WhatsApp conversation now belongs to Ivan, on the colleague's screen too.
    await (
        boris.locator("#contact-sidebar [data-testid=contact-name]")
        .filter(has_text="Ivan Petrenko")
        .wait_for(timeout=10_000)
    )
    merged = boris.locator("[data-testid=timeline] [data-testid=event][data-type=contact_merged]")
    await merged.wait_for(timeout=10_000)
    assert "Merged with Ivan Petrenko" in await merged.inner_text()

    # The sidebar link opens the other conversation.
    await side.locator(f"[data-conversation-id='{same.conversation_id}'] button").click()
    await anna.wait_for_url(f"**c={same.conversation_id}**")
    await anna.locator(".conv-head [data-channel=whatsapp]").wait_for()
