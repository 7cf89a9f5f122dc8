"""A visitor presses "Call me back" in the chat panel, leaves a number and is told when we
will call; the request is on the supervisors' callback list."""

from __future__ import annotations

from typing import Any

import pytest

from tests.channels.voice.support import callbacks, eventually
from tests.channels.voice.test_widget_callback import _phone_line
from tests.conftest import Demo, LiveServer

pytestmark = pytest.mark.browser


async def test_call_me_back_from_the_widget(
    browser: Any, live_server: LiveServer, demo: Demo
) -> None:
    await _phone_line(demo)
    ctx = await browser.new_context(locale="en-US")
    site = await ctx.new_page()
    await site.goto(f"{live_server.url}/demo/site")
    await site.click("#omniline-bubble")
    frame = site.frame_locator("#omniline-frame")
    await frame.locator("[data-testid=widget-status][data-state=connected]").wait_for()
    await frame.locator("[data-testid=widget-callback-open]").click()
    await frame.locator("[data-testid=widget-callback-phone]").fill("050 765 43 21")
    await frame.locator("[data-testid=widget-callback-send]").click()
    note = frame.locator("[data-testid=widget-callback-note]")
    await note.filter(has_text="+380507654321").wait_for()
    assert "We will call you back" in await note.inner_text()
    (cb,) = await eventually(callbacks, what="the booked callback")
    assert cb.number == "+380507654321" and cb.reason == "widget"
    await ctx.close()
