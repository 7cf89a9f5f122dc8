"""In real Chromium: "/" inserts a rendered canned response, "@" in a note names a colleague,
and the colleague sees a live toast that opens the conversation."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import Demo, LiveServer, bearer, staff_token, visitor

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.async_api").expect


async def _login(page: Any, base: str, email: str, password: str, path: str = "/app") -> None:
    await page.goto(f"{base}/login?next={path}")
    await page.fill("input[name=email]", email)
    await page.fill("input[name=password]", password)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{base}/app**")
    await page.wait_for_selector("[data-testid=stream-status][data-state=open]")


async def test_slash_and_at_in_the_reply_box(
    browser: Any, live_server: LiveServer, demo: Demo
) -> None:
    base = live_server.url
    async with httpx.AsyncClient(base_url=base) as http:
        admin = bearer(await staff_token(http, "admin@demo.omniline", "demo-admin"))
        r = await http.post(
            "/api/v1/canned",
            json={
                "shared": True,
                "shortcut": "greet",
                "title": "Greeting",
                "text": "Hello {contact_name}, this is {agent_name}.",
            },
            headers=admin,
        )
        assert r.status_code == 201
        token = await visitor(http, name="Olena")
        r = await http.post("/api/v1/widget/messages", json={"text": "Hi"}, headers=bearer(token))
        conv_id = r.json()["conversation_id"]
        contact = (await http.get(f"/api/v1/conversations/{conv_id}", headers=admin)).json()
        name = contact["contact"]["name"]

    anna = await (await browser.new_context(locale="en-US")).new_page()
    boris = await (await browser.new_context(locale="en-US")).new_page()
    await _login(anna, base, "agent@demo.omniline", "demo-agent")
    await _login(boris, base, "agent2@demo.omniline", "demo-agent")
    await anna.goto(f"{base}/app?c={conv_id}")
    box = anna.locator("[data-testid=reply-input]")
    await box.wait_for()

    await box.type("/gre")
    await anna.wait_for_selector("#suggest-canned li[role=option]")
    await box.press("Enter")
    await expect(box).to_have_value(f"Hello {name}, this is Anna Agent.")

    await box.fill("")
    await anna.check("[data-testid=private-toggle]")
    await box.type("please look @Bor")
    await anna.wait_for_selector("#suggest-mention li[role=option]")
    await box.press("Tab")
    await expect(box).to_have_value("please look @Boris Agent ")
    await box.type("- double charge")
    await box.press("Escape")  # nothing open: Esc stays harmless
    await box.press("Control+Enter")

    toast = boris.locator("[data-testid=mention-toast]")
    await toast.wait_for()
    assert "Anna Agent" in await toast.inner_text()
    await toast.locator("button.btn").click()
    await boris.wait_for_url(f"**c={conv_id}**")
