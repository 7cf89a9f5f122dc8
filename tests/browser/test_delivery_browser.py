"""Outbound delivery in the workspace: a failed reply shows why and is sent again with Retry;
a channel that refuses free text shows a banner and lets only private notes through."""

from __future__ import annotations

import secrets
from typing import Any

import pytest

from omniline import db
from omniline.conversations import delivery
from omniline.conversations.delivery import DeliveryResult
from omniline.conversations.models import Conversation, Delivery, Message
from omniline.inboxes.models import Inbox
from omniline.jobs.runner import Runner
from tests.browser.test_merge_browser import login
from tests.conftest import Demo, LiveServer
from tests.contacts.people import writes

pytestmark = pytest.mark.browser

CHANNEL = "testchan"  # made up: the test registers its own sender and guard


async def made_up_inbox(demo: Demo) -> int:
    async with db.unit_of_work() as session:
        inbox = Inbox(
            workspace_id=demo.workspace_id,
            channel=CHANNEL,
            name="Test channel",
            key=secrets.token_hex(8),
            identity_secret=secrets.token_hex(16),
            default_queue_id=demo.queues["First line"],
            settings={},
        )
        session.add(inbox)
        await session.flush()
        return inbox.id


async def test_a_failed_reply_shows_the_reason_and_retry_sends_it(
    browser: Any, live_server: LiveServer, demo: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    answers = [
        DeliveryResult(
            Delivery.failed, error="Forbidden: bot was blocked by the user", permanent=True
        ),
        DeliveryResult(Delivery.sent, external_id="m-1"),
    ]

    async def send(session: Any, msg: Message, conv: Conversation, inbox: Inbox) -> DeliveryResult:
        return answers.pop(0)

    monkeypatch.setitem(delivery._senders, CHANNEL, send)
    inbox_id = await made_up_inbox(demo)
    conv = await writes(demo, inbox_id, "chat-5", name="Petro", text="Where is my money?")
    page = await login(browser, live_server.url, "agent@demo.omniline", "demo-agent")
    await page.goto(f"{live_server.url}/app?c={conv.conversation_id}")
    await page.fill("[data-testid=reply-input]", "It is on its way")
    await page.click("[data-testid=reply-send]")
    mine = page.locator("[data-testid=timeline] [data-testid=message][data-direction=out]")
    await mine.locator("[data-delivery=queued]").wait_for(timeout=10_000)

    await Runner().run_due()
    failed = mine.locator("[data-delivery=failed]")
    await failed.wait_for(timeout=10_000)
    assert "bot was blocked by the user" in await failed.inner_text()
    retry = mine.locator("[data-testid=retry-delivery]")
    await retry.click()
    await mine.locator("[data-delivery=queued]").wait_for(timeout=10_000)
    assert await retry.count() == 0

    await Runner().run_due()
    await mine.locator("[data-delivery=sent]").wait_for(timeout=10_000)
    assert answers == []


async def test_an_unconfirmed_reply_says_so_and_retry_sends_it_once(
    browser: Any, live_server: LiveServer, demo: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 9, item 16: the provider took the request and never answered, on a channel where
    a repeat shows twice: the agent sees "Not confirmed" with the reason (as text, not markup)
    and decides; Retry sends it once."""
    answers = [
        DeliveryResult(Delivery.failed, error="<b>read timeout</b>", maybe_reached=True),
        DeliveryResult(Delivery.sent, external_id="m-1"),
    ]

    async def send(session: Any, msg: Message, conv: Conversation, inbox: Inbox) -> DeliveryResult:
        return answers.pop(0)

    monkeypatch.setitem(delivery._senders, CHANNEL, send)
    inbox_id = await made_up_inbox(demo)
    conv = await writes(demo, inbox_id, "chat-6", name="Petro", text="Where is my money?")
    page = await login(browser, live_server.url, "agent@demo.omniline", "demo-agent")
    await page.goto(f"{live_server.url}/app?c={conv.conversation_id}")
    await page.fill("[data-testid=reply-input]", "It is on its way")
    await page.click("[data-testid=reply-send]")
    mine = page.locator("[data-testid=timeline] [data-testid=message][data-direction=out]")
    await mine.locator("[data-delivery=queued]").wait_for(timeout=10_000)

    await Runner().run_due()
    await Runner().run_due()  # nothing is scheduled again on its own
    unconfirmed = mine.locator("[data-delivery=unconfirmed]")
    await unconfirmed.wait_for(timeout=10_000)
    shown = await unconfirmed.inner_text()
    assert "Not confirmed" in shown and "may or may not have reached the customer" in shown
    assert "<b>read timeout</b>" in shown
    assert len(answers) == 1
    await mine.locator("[data-testid=retry-delivery]").click()
    await mine.locator("[data-delivery=queued]").wait_for(timeout=10_000)

    await Runner().run_due()
    await mine.locator("[data-delivery=sent]").wait_for(timeout=10_000)
    assert answers == []


async def test_a_blocked_channel_allows_only_private_notes(
    browser: Any, live_server: LiveServer, demo: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    reason = "The 24-hour window has closed: only a template can be sent."

    async def guard(session: Any, conv: Conversation, inbox: Inbox, meta: dict[str, Any]) -> str:
        return reason

    monkeypatch.setitem(delivery._guards, CHANNEL, guard)
    inbox_id = await made_up_inbox(demo)
    conv = await writes(demo, inbox_id, "chat-6", name="Oksana", text="Hello?")
    page = await login(browser, live_server.url, "agent@demo.omniline", "demo-agent")
    await page.goto(f"{live_server.url}/app?c={conv.conversation_id}")
    banner = page.locator("[data-testid=reply-blocked]")
    await banner.wait_for()
    assert reason in await banner.inner_text()
    assert await page.locator("[data-testid=send-template]").is_hidden()  # not WhatsApp
    send = page.locator("[data-testid=reply-send]")
    assert await send.is_disabled()

    await page.check("[data-testid=private-toggle]")
    assert await send.is_enabled()
    await page.fill("[data-testid=reply-input]", "Customer asked about the loan")
    await send.click()
    note = page.locator("[data-testid=timeline] [data-testid=message][data-private=true]")
    await note.wait_for(timeout=10_000)
    await page.uncheck("[data-testid=private-toggle]")
    assert await send.is_disabled()


TEMPLATE = {
    "name": "payment_reminder",
    "language": "uk",
    "status": "APPROVED",
    "category": "UTILITY",
    "body": "Hello {{1}}, your payment of {{2}} is due.",
    "params": 2,
    "param_names": ["1", "2"],
    "named": False,
    "sendable": True,
}


async def test_whatsapp_outside_the_window_sends_a_template(
    browser: Any, live_server: LiveServer, demo: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def guard(
        session: Any, conv: Conversation, inbox: Inbox, meta: dict[str, Any]
    ) -> str | None:
        return None if meta.get("template") else "The 24-hour window has closed."

    monkeypatch.setitem(delivery._guards, "whatsapp", guard)
    async with db.unit_of_work() as session:
        inbox = Inbox(
            workspace_id=demo.workspace_id,
            channel="whatsapp",
            name="WhatsApp",
            key=secrets.token_hex(8),
            identity_secret=secrets.token_hex(16),
            default_queue_id=demo.queues["First line"],
            settings={"templates": [TEMPLATE]},
        )
        session.add(inbox)
        await session.flush()
        inbox_id = inbox.id
    conv = await writes(demo, inbox_id, "380501112233", name="Olena", text="Hi")
    page = await login(browser, live_server.url, "agent@demo.omniline", "demo-agent")
    await page.goto(f"{live_server.url}/app?c={conv.conversation_id}")
    await page.locator("[data-testid=reply-blocked]").wait_for()
    await page.click("[data-testid=send-template]")
    dialog = page.locator("#template-dialog")
    await dialog.wait_for()
    await dialog.locator("[data-testid=template-preview]").filter(has_text="payment").wait_for()
    params = dialog.locator("[data-testid=template-param]")
    assert await params.count() == 2
    await params.nth(0).fill("Olena")
    await params.nth(1).fill("500 UAH")
    await dialog.locator("[data-testid=template-send]").click()
    await dialog.wait_for(state="hidden")
    sent = page.locator("[data-testid=timeline] [data-testid=message][data-direction=out]")
    await sent.filter(has_text="Hello Olena, your payment of 500 UAH is due.").wait_for()
    assert "Template: payment_reminder" in await sent.inner_text()
