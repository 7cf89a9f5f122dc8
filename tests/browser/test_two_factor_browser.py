"""In real Chromium: an agent sets up two-factor sign-in from the Sessions menu's page, signs
out, and signs in again with the password and then a code."""

from __future__ import annotations

import time
from typing import Any

import pyotp
import pytest

from tests.browser.conftest import sign_in
from tests.conftest import Demo, LiveServer

pytestmark = pytest.mark.browser


async def test_set_up_and_sign_in_with_a_code(
    browser: Any, live_server: LiveServer, demo: Demo
) -> None:
    base = live_server.url
    ctx = await browser.new_context(locale="en-US")
    page = await ctx.new_page()
    await sign_in(page, base, "agent@demo.omniline", "demo-agent")

    await page.goto(f"{base}/me/two-factor")
    await page.wait_for_selector("[data-testid=two-factor-qr] svg")
    key = (await page.inner_text("[data-testid=two-factor-key]")).strip()
    await page.fill("[data-testid=two-factor-code]", pyotp.TOTP(key).now())
    await page.click("[data-testid=two-factor-confirm]")
    codes = (await page.inner_text("[data-testid=recovery-codes]")).split()
    assert len(codes) == 10

    await page.click(".logout-form button")
    await page.wait_for_url(f"{base}/login**")
    await page.fill("input[name=email]", "agent@demo.omniline")
    await page.fill("input[name=password]", "demo-agent")
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{base}/login/code**")
    await page.fill("[data-testid=login-code]", pyotp.TOTP(key).at(time.time() + 30))
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{base}/app**")
    await page.wait_for_selector("[data-testid=stream-status][data-state=open]")
    await ctx.close()
