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
    assert await row.locator("[data-testid=campaign-edit]").count() == 0  # drafts only
    await row.locator("[data-testid=campaign-pause]").click()
    await row.locator("[data-testid=campaign-status]").filter(has_text="Paused").wait_for()
    assert alerts == []
    await ctx.close()


async def test_create_a_campaign_on_the_page(
    browser: Any, live_server: LiveServer, demo: Demo
) -> None:
    """The form checks what it can (a name, a flow for a bot campaign, a window that is not
    empty, whole numbers in range) in the user's words, shows the API's refusal beside the
    form with the field's name (a flow unpublished since the page was opened), and a campaign
    it creates appears in the list as a draft."""
    from omniline import db
    from omniline.bots.models import BotFlow
    from tests.bots.support import admin, publish
    from tests.channels.voice.test_campaigns import reminder_flow

    inbox_id = await _voice_line(demo)
    async with httpx.AsyncClient(base_url=live_server.url) as api:
        flow_id = await publish(api, await admin(api), reminder_flow(), key="reminder", secret=None)

    ctx = await browser.new_context(locale="en-US")
    page = await ctx.new_page()
    alerts: list[str] = []
    page.on("dialog", lambda d: (alerts.append(d.message), d.dismiss()))
    await sign_in(page, live_server.url, "supervisor@demo.omniline", "demo-supervisor")
    await page.goto(f"{live_server.url}/voice/campaigns")
    form = page.locator("[data-testid=campaign-form]")
    error = page.locator("[data-testid=campaign-form-error]")

    await form.locator("[data-testid=campaign-name]").fill(f"June payments {EVIL}")
    assert await form.locator("[data-testid=campaign-inbox]").input_value() == str(inbox_id)
    await form.locator("[data-testid=campaign-from]").fill("18:00")
    await form.locator("[data-testid=campaign-to]").fill("18:00")
    await form.locator("[data-testid=campaign-attempts]").fill("11")
    await form.locator("[data-testid=campaign-create]").click()
    await error.wait_for()
    said = await error.inner_text()
    assert "A bot campaign needs a published flow." in said
    assert "The dialling hours are empty" in said
    assert "Attempts per customer: a whole number from 1 to 10." in said

    await form.locator("[data-testid=campaign-flow]").select_option(str(flow_id))
    await form.locator("[data-testid=campaign-to]").fill("09:00")  # past midnight: allowed
    await form.locator("[data-testid=campaign-attempts]").fill("2")
    await form.locator("[data-testid=campaign-retry]").fill("30")
    async with db.unit_of_work() as session:  # someone unpublishes the flow meanwhile
        flow = await session.get(BotFlow, flow_id)
        assert flow is not None
        live_version, flow.published_version_id = flow.published_version_id, None
    await form.locator("[data-testid=campaign-create]").click()
    await error.filter(has_text="Flow: publish the flow first").wait_for()

    async with db.unit_of_work() as session:
        flow = await session.get(BotFlow, flow_id)
        assert flow is not None
        flow.published_version_id = live_version
    await form.locator("[data-testid=campaign-create]").click()
    created = page.locator("[data-testid=campaign-created]")
    await created.wait_for()
    assert EVIL in await created.inner_text()  # shown as text
    assert await error.is_hidden()
    row = page.locator("[data-testid=campaign-row]").filter(has_text="June payments")
    await row.locator("[data-testid=campaign-status]").filter(has_text="Draft").wait_for()

    # Edit on the draft's row fills the form with its settings; Save changes replaces them.
    await row.locator("[data-testid=campaign-edit]").click()
    title = page.locator("[data-testid=campaign-form-title]")
    await title.filter(has_text="Edit campaign June payments").wait_for()
    assert (
        await form.locator("[data-testid=campaign-name]").input_value() == f"June payments {EVIL}"
    )
    assert await form.locator("[data-testid=campaign-from]").input_value() == "18:00"
    assert await form.locator("[data-testid=campaign-to]").input_value() == "09:00"
    assert await form.locator("[data-testid=campaign-retry]").input_value() == "30"
    assert await form.locator("[data-testid=campaign-flow]").input_value() == str(flow_id)
    await form.locator("[data-testid=campaign-name]").fill("July payments")
    await form.locator("[data-testid=campaign-to]").fill("18:00")
    await form.locator("[data-testid=campaign-create]").click()
    await error.filter(has_text="The dialling hours are empty").wait_for()
    await form.locator("[data-testid=campaign-to]").fill("20:00")
    await form.locator("[data-testid=campaign-attempts]").fill("4")
    await form.locator("[data-testid=campaign-create]").click()
    await created.filter(has_text="Campaign July payments saved.").wait_for()
    await title.filter(has_text="New campaign").wait_for()
    assert await error.is_hidden()
    saved = page.locator("[data-testid=campaign-row]").filter(has_text="July payments")
    await saved.wait_for()
    assert (
        await page.locator("[data-testid=campaign-row]").filter(has_text="June payments").count()
        == 0
    )
    assert alerts == []
    await ctx.close()

    async with httpx.AsyncClient(base_url=live_server.url) as api:
        sup = bearer(await staff_token(api, "supervisor@demo.omniline", "demo-supervisor"))
        items = (await api.get("/api/v1/voice/campaigns", headers=sup)).json()["items"]
    made = next(c for c in items if c["name"] == "July payments")
    assert (made["hours"], made["max_attempts"], made["retry_after_s"]) == ("18:00-20:00", 4, 1800)
    assert (made["flow_id"], made["mode"], made["inbox_id"]) == (flow_id, "bot", inbox_id)
