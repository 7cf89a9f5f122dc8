"""A picture inside a letter (a cid: part) loads inside the shown letter, in its locked-down
frame, and is not listed again as a file."""

from __future__ import annotations

from typing import Any

import pytest

from omniline.config import Settings
from tests.browser.test_merge_browser import login
from tests.channels.email.test_inline_pictures import store_letter
from tests.conftest import Demo, LiveServer

pytestmark = pytest.mark.browser


async def test_the_picture_of_a_letter_loads_in_the_letter(
    browser: Any, live_server: LiveServer, demo: Demo, settings: Settings
) -> None:
    conv_id = await store_letter(demo, settings, "First line")
    page = await login(browser, live_server.url, "agent@demo.omniline", "demo-agent")
    await page.goto(f"{live_server.url}/app?c={conv_id}")
    letter = page.locator("[data-testid=message][data-direction=in]")
    await letter.wait_for()
    listed = letter.locator(".msg-atts .att")
    assert await listed.count() == 2  # the PDF and the picture the HTML does not show

    await letter.locator("[data-testid=show-original]").click()
    frame_el = letter.locator("[data-testid=original-frame][data-pictures=loaded]")
    await frame_el.wait_for()
    assert await frame_el.get_attribute("sandbox") == ""
    frame = await (await frame_el.element_handle()).content_frame()
    await frame.wait_for_load_state("load")
    picture = frame.locator("img[alt=screenshot]")
    assert (await picture.get_attribute("src") or "").startswith("data:image/png;base64,")
    loaded = (
        "img => img.complete ? img.naturalWidth"
        " : new Promise(r => img.onload = () => r(img.naturalWidth))"
    )
    assert await picture.evaluate(loaded) > 0
