"""An admin builds a small flow in the builder, sees a validation error, fixes it, publishes;
a visitor runs it in the widget to a handoff; the agent sees the transcript and variables."""

from __future__ import annotations

from typing import Any

import pytest

from omniline.jobs.runner import Runner
from tests.browser.conftest import sign_in
from tests.conftest import Demo, LiveServer

pytestmark = pytest.mark.browser


async def connect(page: Any, source: str, output: int, target: str) -> None:
    """Drag from an output of one step to the input of another, as a person would."""
    out = page.locator(f".drawflow-node[data-node='{source}'] .output_{output}")
    into = page.locator(f".drawflow-node[data-node='{target}'] .input_1")
    a, b = await out.bounding_box(), await into.bounding_box()
    await page.mouse.move(a["x"] + a["width"] / 2, a["y"] + a["height"] / 2)
    await page.mouse.down()
    await page.mouse.move(b["x"] + 2, b["y"] + b["height"] / 2, steps=8)
    await page.mouse.move(b["x"] + b["width"] / 2, b["y"] + b["height"] / 2, steps=4)
    await page.mouse.up()


async def test_build_publish_run_and_hand_over(
    browser: Any, live_server: LiveServer, demo: Demo
) -> None:
    base = live_server.url
    dialogs: list[str] = []
    admin_ctx = await browser.new_context(locale="en-US", viewport={"width": 1400, "height": 1000})
    admin = await admin_ctx.new_page()
    admin.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    await sign_in(admin, base, "admin@demo.omniline", "demo-admin")

    await admin.goto(f"{base}/admin/bots")
    await admin.fill("#flow-name", "Greeting <b>bot</b>")
    await admin.fill("#flow-key", "greeting")
    await admin.click("text=Create and open the builder")
    await admin.wait_for_selector("#builder[data-ready=true]")
    assert await admin.locator("[data-testid=flow-name]").inner_text() == "Greeting <b>bot</b>"

    # A menu with one option, not yet leading anywhere.
    await admin.select_option("[data-testid=add-type]", "menu")
    await admin.click("[data-testid=add]")
    await admin.fill("[data-testid=text-text]", "Hello! What do you need?")
    await admin.fill("[data-testid=option-0]", "Talk to a person")
    await admin.click("[data-testid=save]")
    problem = admin.locator("[data-testid=problems] li[data-code=option_nowhere]")
    await problem.wait_for()
    assert "menu1" in await problem.inner_text()
    assert await admin.locator(".drawflow-node.has-problem[data-node=menu1]").count() == 1

    # Publishing is refused while the problem is there.
    await admin.click("[data-testid=publish]")
    await admin.wait_for_selector("#b-status[data-kind=error]")

    # The fix: a handoff step, connected to the option.
    await admin.select_option("[data-testid=add-type]", "handoff")
    await admin.click("[data-testid=add]")
    await connect(admin, "menu1", 1, "handoff1")
    await admin.click("[data-testid=save]")
    await admin.locator("[data-testid=problems] li.ok").wait_for()
    assert await admin.locator(".drawflow-node.has-problem").count() == 0

    # The test chat runs the draft.
    await admin.click("#b-chat-restart")
    await admin.locator("[data-testid=tc-bot]").first.wait_for()
    assert (
        "Hello! What do you need?" in await admin.locator("[data-testid=tc-bot]").first.inner_text()
    )

    await admin.click("[data-testid=publish]")
    await admin.locator("#b-status[data-kind=ok]", has_text="Published as version 1").wait_for()
    await admin.locator("[data-testid=versions] li").first.wait_for()

    # The demo widget greets with it.
    await admin.goto(f"{base}/admin/bots")
    await admin.select_option(f"#greets-{demo.inbox_id}", label="Greeting <b>bot</b>")
    await admin.locator(f"#greets-{demo.inbox_id} >> xpath=..").locator("button").click()
    await admin.wait_for_url("**/admin/bots?done=greets")

    # The bot's turns are jobs: a runner works them as `omniline serve` does.
    runner = Runner(poll_seconds=0.2)
    runner.start()
    try:
        await visitor_and_agent(browser, admin, base)
    finally:
        await runner.stop()
    assert dialogs == []


async def visitor_and_agent(browser: Any, admin: Any, base: str) -> None:
    visitor_ctx = await browser.new_context(locale="en-US")
    site = await visitor_ctx.new_page()
    await site.goto(f"{base}/demo/site")
    await site.click("#omniline-bubble")
    frame = site.frame_locator("#omniline-frame")
    await frame.locator("[data-testid=widget-input]").fill("Hi, I have a question")
    await frame.locator("[data-testid=widget-send]").click()
    greeting = frame.locator("[data-testid=widget-message][data-author-type=bot]")
    await greeting.first.wait_for(timeout=15_000)
    assert "Hello! What do you need?" in await greeting.first.inner_text()
    quick = frame.locator("[data-testid=quick-replies] button", has_text="Talk to a person")
    await quick.click()
    await (
        frame.locator("[data-testid=widget-message][data-author-type=bot]")
        .nth(1)
        .wait_for(timeout=15_000)
    )
    assert await frame.locator("[data-testid=quick-replies]").count() == 0

    # The agent sees the conversation with the bot's transcript and what it collected.
    await admin.goto(f"{base}/app")
    await admin.wait_for_selector("[data-testid=stream-status][data-state=open]")
    row = admin.locator("[data-testid=conv-row]").first
    await row.wait_for(timeout=10_000)
    await row.click()
    timeline = admin.locator("[data-testid=timeline]")
    await timeline.locator("[data-testid=message][data-author-type=bot]").first.wait_for()
    assert "Hello! What do you need?" in await timeline.inner_text()
    variables = admin.locator("[data-testid=bot-variables]")
    await variables.wait_for(timeout=10_000)
    assert "Hi, I have a question" in await variables.inner_text()
    assert "handed over" in await admin.locator("[data-testid=bot-status]").inner_text()
