"""In real Chromium: a supervisor opens the reports, changes the period, sees the tiles and
charts, exports XLSX, and the file holds the same figures as the API."""

from __future__ import annotations

import io
from typing import Any

import httpx
import openpyxl
import pytest

from omniline import db
from omniline.inboxes import service as inboxes
from tests.analytics.conftest import log
from tests.analytics.log import Log
from tests.browser.conftest import sign_in
from tests.conftest import LiveServer, bearer, staff_token

pytestmark = pytest.mark.browser
__all__ = ["log"]


async def test_change_the_period_and_export_xlsx(
    browser: Any, live_server: LiveServer, log: Log
) -> None:
    base = live_server.url
    async with db.unit_of_work() as session:  # a mailbox that can send the scheduled report
        mailbox = await inboxes.do_create_inbox(
            session, log.workspace_id, channel="email", name="Reports <mailbox>", key="rp-mail",
            settings={"address": "reports@microlend.test", "smtp_host": "127.0.0.1",
                      "smtp_port": 2525, "smtp_security": "none"},
        )  # fmt: skip
        mailbox_id = mailbox.id
    ctx = await browser.new_context(locale="en-US", accept_downloads=True)
    page = await ctx.new_page()
    await sign_in(page, base, "supervisor@demo.omniline", "demo-supervisor")
    await page.goto(f"{base}/reports")
    await page.wait_for_selector("[data-testid=rp-status][data-state=ready]")
    # The default (last 7 days) holds nothing of the log: 28 March - 1 April 2026.
    await page.fill("[data-testid=rp-from]", "2026-03-28")
    await page.fill("[data-testid=rp-to]", "2026-04-01")
    await page.dispatch_event("[data-testid=rp-to]", "change")
    await page.wait_for_selector(
        "[data-testid=rp-status][data-state=ready][data-from='2026-03-28'][data-to='2026-04-01']"
    )
    assert await page.input_value("[data-testid=rp-preset]") == "custom"
    offered = page.locator("[data-testid=rp-tile][data-metric=offered] [data-testid=rp-tile-value]")
    sl_tile = page.locator("[data-testid=rp-tile][data-metric=service_level]")

    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        h = bearer(await staff_token(http, "supervisor@demo.omniline", "demo-supervisor"))
        params = {"from": "2026-03-28", "to": "2026-04-01", "by": "day", "compare": "true"}
        api = (await http.get("/api/v1/reports/summary", params=params, headers=h)).json()
    assert await offered.inner_text() == str(api["total"]["offered"])
    # Occupancy has a tile; the log holds no presence history, so no figure.
    occupancy = page.locator(
        "[data-testid=rp-tile][data-metric=occupancy] [data-testid=rp-tile-value]"
    )
    assert api["total"]["occupancy"] is None and await occupancy.inner_text() == "—"
    sl = api["total"]["service_level"]
    want = "green" if sl >= 0.8 else "amber" if sl >= 0.72 else "red"
    assert await sl_tile.get_attribute("data-attainment") == want
    # ECharts drew into each chart's box.
    for chart in ("rp-line", "rp-bar", "rp-heatmap"):
        assert await page.locator(f"[data-testid={chart}] canvas").count() >= 1
    assert await page.locator("[data-testid=rp-breakdown-row]").count() >= 2

    async with page.expect_download() as info:
        await page.click("[data-testid=rp-export-xlsx]")
    download = await info.value
    assert download.suggested_filename == "report-summary-2026-03-28-2026-04-01.xlsx"
    with open(await download.path(), "rb") as f:
        sheet = openpyxl.load_workbook(io.BytesIO(f.read())).active
    assert sheet is not None
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    header = rows[0]
    table = {r[0]: dict(zip(header, r, strict=True)) for r in rows[1:]}
    for metric in ("offered", "answered", "abandoned", "service_level", "asa_s", "conversations"):
        assert table["total"][metric] == api["total"][metric], metric
        assert table["previous period"][metric] == api["previous"][metric], metric
    for start, figures in api["periods"].items():
        assert table[start]["conversations"] == figures["conversations"]

    # Save the view (filters included) and open it again after a reload.
    await page.select_option("[data-testid=rp-filter-channel]", "voice")
    await page.wait_for_selector("[data-testid=rp-status][data-state=ready]")
    await page.fill("[data-testid=rp-saved-name]", "Voice <week>")
    # Mailed every Monday at 07:00 through the mailbox.
    assert not await page.is_visible("[data-testid=rp-saved-recipients]")
    await page.select_option("[data-testid=rp-saved-every]", "weekly")
    await page.select_option("[data-testid=rp-saved-hour]", "7")
    await page.fill("[data-testid=rp-saved-recipients]", "boss@microlend.test, qa@microlend.test")
    assert await page.input_value("[data-testid=rp-saved-mailbox]") == str(mailbox_id)
    await page.click("[data-testid=rp-save]")
    await page.wait_for_selector(
        "[data-testid=rp-saved] option:has-text('Voice <week>')", state="attached"
    )
    await page.reload()
    await page.wait_for_selector("[data-testid=rp-status][data-state=ready]")
    assert await page.input_value("[data-testid=rp-filter-channel]") == ""
    option = page.locator("[data-testid=rp-saved] option", has_text="Voice <week>")
    await option.wait_for(state="attached")
    await page.select_option("[data-testid=rp-saved]", await option.get_attribute("value"))
    assert await page.input_value("[data-testid=rp-filter-channel]") == "voice"
    assert await page.input_value("[data-testid=rp-saved-every]") == "weekly"
    assert await page.input_value("[data-testid=rp-saved-hour]") == "7"
    assert await page.input_value("[data-testid=rp-saved-recipients]") == (
        "boss@microlend.test, qa@microlend.test"
    )
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        h = bearer(await staff_token(http, "supervisor@demo.omniline", "demo-supervisor"))
        saved = (await http.get("/api/v1/reports/saved", headers=h)).json()["items"]
    report = next(r for r in saved if r["name"] == "Voice <week>")
    assert report["schedule"] == {
        "every": "weekly", "hour": 7, "inbox_id": mailbox_id,
        "recipients": ["boss@microlend.test", "qa@microlend.test"],
    }  # fmt: skip
    assert report["next_run_at"] is not None
    await ctx.close()
