"""An agent transfers a chat to a second-line queue with a note, from the workspace."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import Demo, LiveServer

pytestmark = pytest.mark.browser


async def test_agent_transfers_to_tech_support(
    browser: Any, live_server: LiveServer, demo: Demo
) -> None:
    base = live_server.url
    async with httpx.AsyncClient(base_url=base) as http:
        s = await http.post("/api/v1/widget/sessions", json={"inbox_key": "demo-widget"})
        token = s.json()["session_token"]
        r = await http.post(
            "/api/v1/widget/messages",
            json={"text": "The card reader shows error 42"},
            headers={"Authorization": f"Bearer {token}"},
        )
        conv_id = r.json()["conversation_id"]

    ctx = await browser.new_context(locale="en-US")
    page = await ctx.new_page()
    await page.goto(f"{base}/login")
    await page.fill("input[name=email]", "agent@demo.omniline")
    await page.fill("input[name=password]", "demo-agent")
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{base}/app**")
    await page.goto(f"{base}/app?c={conv_id}")
    await page.locator("[data-testid=transfer]").click()
    await page.select_option("[data-testid=transfer-queue]", label="Tech support")
    await page.fill("[data-testid=transfer-note]", "Reader model X100")
    await page.click("[data-testid=transfer-submit]")

    # The agent is not in Tech support: the row turns into a locked one.
    row = page.locator(f"[data-testid=conv-row][data-id='{conv_id}']")
    await row.and_(page.locator("[data-locked=true]")).wait_for(timeout=10_000)
    async with httpx.AsyncClient(base_url=base) as http:
        login = await http.post(
            "/api/v1/auth/login",
            json={"email": "supervisor@demo.omniline", "password": "demo-supervisor"},
        )
        sup = {"Authorization": f"Bearer {login.json()['access_token']}"}
        detail = (await http.get(f"/api/v1/conversations/{conv_id}", headers=sup)).json()
        assert detail["queue"]["name"] == "Tech support"
        msgs = (await http.get(f"/api/v1/conversations/{conv_id}/messages", headers=sup)).json()
        assert [m["text"] for m in msgs["items"] if m["private"]] == ["Reader model X100"]
    await ctx.close()
