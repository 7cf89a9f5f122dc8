"""The web chat's satisfaction survey in real Chromium: the agent resolves, the visitor sees
the stars, gives four and a comment, and the answer is in the results API."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.channels.telegram.helpers import run_jobs
from tests.conftest import Demo, LiveServer, bearer, staff_token

pytestmark = pytest.mark.browser


async def _login(page: Any, base: str, email: str, password: str) -> None:
    await page.goto(f"{base}/login")
    await page.fill("input[name=email]", email)
    await page.fill("input[name=password]", password)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{base}/app**")


async def test_visitor_rates_the_chat_after_it_is_resolved(
    browser: Any, live_server: LiveServer, demo: Demo
) -> None:
    base = live_server.url
    async with httpx.AsyncClient(base_url=base) as api:
        admin = bearer(await staff_token(api, "admin@demo.omniline", "demo-admin"))
        r = await api.put(
            f"/api/v1/surveys/settings/{demo.inbox_id}",
            json={"enabled": True, "texts": {"en": {"thanks": "Thanks, <b>dear</b>!"}}},
            headers=admin,
        )
        assert r.status_code == 200, r.text

        visitor_ctx = await browser.new_context(locale="en-US")
        agent_ctx = await browser.new_context(locale="en-US")
        site = await visitor_ctx.new_page()
        agent = await agent_ctx.new_page()
        await _login(agent, base, "agent@demo.omniline", "demo-agent")
        await agent.wait_for_selector("[data-testid=stream-status][data-state=open]")

        await site.goto(f"{base}/demo/site")
        await site.click("#omniline-bubble")
        frame = site.frame_locator("#omniline-frame")
        await frame.locator("[data-testid=widget-input]").fill("My card is blocked")
        await frame.locator("[data-testid=widget-send]").click()

        row = agent.locator("[data-testid=conv-row]").first
        await row.wait_for(timeout=10_000)
        await row.click()
        await agent.fill("[data-testid=reply-input]", "Unblocked. Anything else?")
        await agent.click("[data-testid=reply-send]")
        await frame.locator("[data-testid=widget-message][data-author-type=agent]").first.wait_for(
            timeout=10_000
        )
        await agent.click("[data-testid=resolve]")
        await (
            agent.locator("[data-testid=conv-status]")
            .filter(has_text="esolved")
            .wait_for(timeout=10_000)
        )
        await run_jobs()  # the survey_send job (the test server runs no job runner)

        survey = frame.locator("[data-testid=widget-survey]")
        await survey.wait_for(timeout=10_000)
        assert await survey.locator("button[data-score]").count() == 5
        await survey.locator("button[data-score='4']").click()
        await survey.locator("textarea").fill("Fast, thank you")
        await survey.locator("button[type=submit]").click()
        # The thanks shows beside the comment box from the score on; sending the comment
        # closes the box (the wait ends when the comment's POST has been answered).
        await survey.locator("textarea").wait_for(state="detached", timeout=10_000)
        await survey.locator(".ol-survey-thanks").filter(has_text="Thanks").wait_for()
        # The thank-you text is the admin's, shown as text.
        assert "Thanks, <b>dear</b>!" in await survey.inner_text()

        sup = bearer(await staff_token(api, "supervisor@demo.omniline", "demo-supervisor"))
        r = await api.get("/api/v1/surveys/answers", headers=sup)
        (answer,) = r.json()["items"]
        assert (answer["score"], answer["comment"]) == (4, "Fast, thank you")
        assert answer["agent_id"] == demo.users["agent"]
        await visitor_ctx.close()
        await agent_ctx.close()
