"""The routed event in the workspace timeline, in real Chromium."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from omniline import db
from omniline.conversations.models import Conversation
from omniline.routing import service
from tests.conftest import Demo, LiveServer, bearer
from tests.identity import signed_identity
from tests.routing.helpers import add_rules, bank, events_of, issue_rules

pytestmark = pytest.mark.browser


async def test_timeline_says_which_rule_routed_the_conversation(
    browser: Any, live_server: LiveServer, demo: Demo
) -> None:
    async with db.unit_of_work() as session:
        await add_rules(session, demo.workspace_id, issue_rules(await bank(session, demo)))
    identity = signed_identity(demo.identity_secret, "client-42")
    async with httpx.AsyncClient(base_url=live_server.url) as http:
        r = await http.post(
            "/api/v1/widget/sessions", json={"inbox_key": demo.inbox_key, "identity": identity}
        )
        token = r.json()["session_token"]
        r = await http.post("/api/v1/widget/messages", json={"text": "Hi"}, headers=bearer(token))
        assert r.status_code == 201, r.text
    async with db.unit_of_work() as session:
        conv = await session.scalar(select(Conversation))
        assert conv is not None
        if not await events_of(session, conv.id, "routed"):  # until receive_inbound routes
            await service.route_new_conversation(session, conv, first_text="Hi")

    ctx = await browser.new_context(locale="en-US")
    page = await ctx.new_page()
    await page.goto(f"{live_server.url}/login")
    await page.fill("input[name=email]", "agent2@demo.omniline")
    await page.fill("input[name=password]", "demo-agent")
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{live_server.url}/app**")
    row = page.locator("[data-testid=conv-row]").first
    await row.wait_for(timeout=10_000)
    await row.click()
    event = page.locator("[data-testid=timeline] [data-testid=event][data-type=routed]")
    await event.first.wait_for(timeout=10_000)
    assert await event.count() == 1
    assert "Routed to Business assistants by rule 'Clients'" in await event.first.inner_text()
    await ctx.close()
