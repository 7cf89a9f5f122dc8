"""The phone in a real browser, against the ARI simulator: the agent's softphone panel through
a whole call (contact card, hold, hang-up, after-call work) and the supervisors' callback list
filling live when a caller gives up."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from omniline import db
from omniline.channels.voice import link
from omniline.channels.voice.models import VoiceLink
from omniline.contacts import service as contacts
from omniline.kit.clock import utcnow
from omniline.presence.service import do_set_presence
from tests.browser.conftest import sign_in
from tests.channels.voice.support import (
    AGENT_PHONE,
    CALLER,
    Line,
    call_where,
    eventually,
    running_line,
)
from tests.conftest import Demo, LiveServer, bearer, staff_token

pytestmark = pytest.mark.browser
CUSTOMER = "Olena <b>Kovalenko</b>"


@pytest.fixture
async def line(live_server: LiveServer, demo: Demo) -> AsyncIterator[Line]:
    # After-call work long enough to watch its countdown.
    async for running in running_line(demo, settings={"acw_s": 120}):
        yield running


async def _known_caller(demo: Demo) -> None:
    async with db.unit_of_work() as session:
        contact = await contacts.find_or_create_by_address(
            session, demo.workspace_id, "phone", CALLER, CUSTOMER
        )
        contact.phone, contact.email, contact.external_id = CALLER, "olena@example.com", "CRM-77"
        contact.attributes = {"segment": "gold"}


async def test_agent_takes_a_call_in_the_softphone(
    browser: Any, live_server: LiveServer, line: Line, demo: Demo
) -> None:
    base = live_server.url
    await _known_caller(demo)
    await line.phone(AGENT_PHONE, answer_after_s=0.5)
    page = await (await browser.new_context(locale="en-US")).new_page()
    await sign_in(page, base, "agent@demo.omniline", "demo-agent")
    panel = page.locator("[data-testid=softphone]")
    await panel.wait_for(state="visible")
    assert await panel.get_attribute("data-state") == "available"

    ch = await line.call()
    await page.locator("[data-testid=softphone][data-state=talking]").wait_for(timeout=10_000)
    call = await eventually(lambda: call_where(ch, state="talking"), what="answered")
    assert await page.locator("[data-testid=sp-state]").text_content() == "Talking"
    assert CALLER in (await page.locator("[data-testid=sp-caller]").text_content() or "")
    # The contact card pops, its name as text (the markup is not parsed).
    card = page.locator("[data-testid=sp-card]")
    await card.locator("[data-testid=sp-card-name]").wait_for()
    assert await card.locator("[data-testid=sp-card-name]").text_content() == CUSTOMER
    assert await card.locator("b").count() == 0
    assert await card.locator("[data-testid=sp-card-email]").text_content() == "olena@example.com"
    assert await card.locator("[data-testid=sp-card-crm]").text_content() == "CRM-77"
    assert "gold" in (await card.text_content() or "")
    # ... and the call's conversation opens in the workspace.
    await page.wait_for_url(f"**c={call.conversation_id}**")
    timeline = page.locator("[data-testid=timeline]")
    await timeline.locator("[data-type=call_started]").wait_for()
    assert "Incoming call from" in (await timeline.text_content() or "")

    await page.click("[data-testid=sp-hold]")
    await page.locator("[data-testid=softphone][data-state=hold]").wait_for(timeout=10_000)
    assert await page.locator("[data-testid=sp-state]").text_content() == "On hold"
    await timeline.locator("[data-type=call_hold]", has_text="Call put on hold").wait_for()
    await page.click("[data-testid=sp-resume]")
    await page.locator("[data-testid=softphone][data-state=talking]").wait_for(timeout=10_000)

    await page.click("[data-testid=sp-hangup]")
    await page.locator("[data-testid=softphone][data-state=wrap_up]").wait_for(timeout=10_000)
    timer = page.locator("[data-testid=sp-timer]")
    await timer.wait_for(state="visible")
    first = await timer.text_content() or ""
    assert first.endswith("left") and first.startswith(("1:", "2:"))
    await page.wait_for_function(
        "t => document.querySelector('[data-testid=sp-timer]').textContent !== t", arg=first
    )
    await page.select_option("[data-testid=sp-disposition]", "complaint")
    await page.fill("[data-testid=sp-notes]", "Asked about <fees>")
    await page.click("[data-testid=sp-save]")
    await page.locator("[data-testid=sp-saved]", has_text="Saved.").wait_for()
    async with httpx.AsyncClient(base_url=base) as http:
        token = await staff_token(http, "agent@demo.omniline", "demo-agent")
        view = (await http.get(f"/api/v1/voice/calls/{call.id}", headers=bearer(token))).json()
    assert view["disposition"] == "complaint" and view["notes"] == "Asked about <fees>"

    await page.click("[data-testid=sp-ready]")
    await page.locator("[data-testid=softphone][data-state=available]").wait_for()
    await page.context.close()


async def _hold_the_lease(line: Line) -> None:
    """The test runs the controller without the lease round (link.start): take the lease as
    that round would, so GET /voice/status reports the link as held."""

    async def linked() -> VoiceLink | None:
        async with db.unit_of_work() as session:
            row = await session.get(VoiceLink, line.inbox_id)
            if row is None or not row.up:
                return None
            row.holder, row.lease_until = link.HOLDER, utcnow() + timedelta(hours=1)
            return row

    await eventually(linked, what="the PBX link up")


async def test_supervisor_sees_a_callback_appear_live(
    browser: Any, live_server: LiveServer, line: Line, demo: Demo
) -> None:
    base = live_server.url
    await line.phone(AGENT_PHONE, answer_after_s=None)
    async with db.unit_of_work() as session:
        await do_set_presence(session, demo.workspace_id, demo.users["agent"], "away")
    await _hold_the_lease(line)
    page = await (await browser.new_context(locale="en-US")).new_page()
    await sign_in(page, base, "supervisor@demo.omniline", "demo-supervisor")
    await page.click("[data-testid=nav-callbacks]")
    await page.wait_for_url(f"{base}/voice/callbacks")
    await page.wait_for_selector("[data-testid=stream-status][data-state=open]")
    line_row = page.locator(f".cb-line[data-inbox-id='{line.inbox_id}']")
    await line_row.and_(page.locator("[data-up=true]")).wait_for()
    assert await line_row.locator("[data-testid=link-state]").text_content() == "Connected"
    assert await page.locator("[data-testid=callback-row]").count() == 0

    ch = await line.call()
    await eventually(lambda: call_where(ch, state="queued"), what="queued")
    first = line_row.locator(
        f"[data-testid=queue-stat][data-queue-id='{demo.queues['First line']}']"
    )
    await first.filter(has_text="First line: 1 waiting").wait_for()
    await asyncio.sleep(0.5)  # past the short-abandon threshold
    await line.hangup(ch)
    row = page.locator("[data-testid=callback-row]", has_text=CALLER)
    await row.wait_for(timeout=10_000)
    assert await row.locator("[data-testid=callback-status]").text_content() == "Waiting"
    assert "Gave up waiting" in (await row.text_content() or "")
    assert "0 / " in (await row.text_content() or "")
    await first.filter(has_text="First line: 0 waiting").wait_for()

    await row.locator("[data-testid=callback-cancel]").click()
    await row.wait_for(state="detached")
    await page.locator("[data-testid=callback-empty]").wait_for(state="visible")
    await page.context.close()


async def test_agent_transfers_a_call_to_a_number(
    browser: Any, live_server: LiveServer, line: Line, demo: Demo
) -> None:
    base = live_server.url
    second_line = "+380441112233"
    await line.phone(AGENT_PHONE, answer_after_s=0.3)
    await line.number(second_line, answer_after_s=0.1, talk_s=5)
    page = await (await browser.new_context(locale="en-US")).new_page()
    await sign_in(page, base, "agent@demo.omniline", "demo-agent")
    ch = await line.call()
    await page.locator("[data-testid=softphone][data-state=talking]").wait_for(timeout=10_000)
    await page.click("[data-testid=sp-transfer]")
    form = page.locator("[data-testid=sp-transfer-form]")
    await form.wait_for(state="visible")
    await page.locator("[data-testid=sp-transfer-queue] option", has_text="Tech support").wait_for(
        state="attached"
    )
    await page.click("[data-testid=sp-transfer-submit]")  # neither a queue nor a number yet
    assert await page.locator("[data-testid=sp-error]").text_content() == (
        "Choose a queue or type a number."
    )
    await page.fill("[data-testid=sp-transfer-number]", second_line)
    await page.click("[data-testid=sp-transfer-submit]")
    await page.locator("[data-testid=softphone][data-state=wrap_up]").wait_for(timeout=10_000)
    ended = await eventually(lambda: call_where(ch, end_reason="transferred"), what="transferred")
    assert ended.ended_at is not None
    timeline = page.locator("[data-testid=timeline]")
    await timeline.locator(
        "[data-type=call_transferred]", has_text=f"Call transferred to {second_line}"
    ).wait_for()
    await timeline.locator("[data-type=call_ended]", has_text="Call ended: transferred").wait_for()
    await page.context.close()
