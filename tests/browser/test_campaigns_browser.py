"""A supervisor adds a list of customers to a call campaign on the campaigns page, sees the
row the API refused and why, starts the campaign and sees it running with its counts."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.browser.conftest import sign_in
from tests.channels.voice.test_pages import _voice_line
from tests.conftest import Demo, LiveServer, bearer, staff_token

pytestmark = pytest.mark.browser

EVIL = "<img src=x onerror=alert(1)>"


async def test_add_a_list_and_start_a_campaign(
    browser: Any, live_server: LiveServer, demo: Demo
) -> None:
    inbox_id = await _voice_line(demo)
    async with httpx.AsyncClient(base_url=live_server.url) as api:
        sup = bearer(await staff_token(api, "supervisor@demo.omniline", "demo-supervisor"))
        r = await api.post(
            "/api/v1/voice/campaigns",
            json={"inbox_id": inbox_id, "name": f"Reminders {EVIL}", "mode": "agent"},
            headers=sup,
        )
        assert r.status_code == 201, r.text
        campaign_id = r.json()["id"]

    ctx = await browser.new_context(locale="en-US")
    page = await ctx.new_page()
    alerts: list[str] = []
    page.on("dialog", lambda d: (alerts.append(d.message), d.dismiss()))
    await sign_in(page, live_server.url, "supervisor@demo.omniline", "demo-supervisor")
    await page.click("nav >> text=Campaigns")
    row = page.locator(f"[data-testid=campaign-row][data-id='{campaign_id}']")
    await row.wait_for()
    assert EVIL in await row.locator("td").first.inner_text()  # shown as text
    assert await row.locator("[data-testid=campaign-status]").inner_text() == "Draft"

    csv_body = "number,name,amount\n+380503330001,Olha,700\nnonsense,Bad,1\n0503330002,,800\n"
    await row.locator("[data-testid=campaign-csv]").set_input_files(
        {"name": "list.csv", "mimeType": "text/csv", "buffer": csv_body.encode()}
    )
    report = page.locator("[data-testid=campaign-upload-report]")
    await report.locator("[data-testid=campaign-added]").filter(has_text="2 customers").wait_for()
    assert "row 3: nonsense: not a phone number" in await report.inner_text()
    await row.locator("[data-count=total]").filter(has_text="Customers: 2").wait_for()
    assert await row.locator("[data-count=pending]").inner_text() == "Waiting: 2"

    await row.locator("[data-testid=campaign-start]").click()
    await row.locator("[data-testid=campaign-status]").filter(has_text="Running").wait_for()
    await row.locator("[data-testid=campaign-pause]").click()
    await row.locator("[data-testid=campaign-status]").filter(has_text="Paused").wait_for()
    assert alerts == []
    await ctx.close()
