"""In the workspace: the masked-card note under a message, and an administrator exporting
and erasing the customer's data from the contact panel."""

from __future__ import annotations

from typing import Any

import pytest

from omniline import db
from omniline.contacts.models import Contact
from omniline.conversations.inbound import InboundMessage
from omniline.conversations.service import receive_inbound
from tests.browser.test_merge_browser import login
from tests.conftest import Demo, LiveServer
from tests.contacts.people import make_inbox

pytestmark = pytest.mark.browser


async def _customer_writes(demo: Demo, inbox_id: int) -> tuple[int, int]:
    async with db.unit_of_work() as session:
        (res,) = await receive_inbound(
            session,
            [
                InboundMessage(
                    workspace_id=demo.workspace_id,
                    inbox_id=inbox_id,
                    text="my card 4276 8301 2345 6781",
                    sender_address="tg-42",
                    sender_name="Ivan Petrov",
                )
            ],
        )
        conv_id = res.message.conversation_id
    async with db.unit_of_work() as session:
        from omniline.conversations.models import Conversation

        conv = await session.get(Conversation, conv_id)
        assert conv is not None
        return conv_id, conv.contact_id


async def test_admin_sees_the_note_exports_and_erases(
    browser: Any, live_server: LiveServer, demo: Demo
) -> None:
    inbox = await make_inbox(demo, "telegram")
    conv_id, contact_id = await _customer_writes(demo, inbox)
    page = await login(browser, live_server.url, "admin@demo.omniline", "demo-admin")
    await page.goto(f"{live_server.url}/app?c={conv_id}")
    msg = page.locator("[data-testid=message][data-direction=in]")
    await msg.wait_for()
    assert "427683******6781" in await msg.inner_text()
    note = await msg.locator("[data-testid=cards-masked]").inner_text()
    assert "card number" in note and "masked" in note

    async with page.expect_download() as info:
        await page.locator("[data-testid=contact-export]").click()
    download = await info.value
    assert download.suggested_filename == f"contact-{contact_id}.json"

    page.on("dialog", lambda d: d.accept())
    await page.locator("[data-testid=contact-erase]").click()
    await page.wait_for_function(
        "() => !document.querySelector('[data-testid=contact-name]')?.textContent.includes('Ivan')"
    )
    async with db.unit_of_work() as session:
        contact = await session.get(Contact, contact_id)
        assert contact is not None and contact.name == ""


async def test_agents_have_no_data_buttons(
    browser: Any, live_server: LiveServer, demo: Demo
) -> None:
    inbox = await make_inbox(demo, "telegram")
    conv_id, _ = await _customer_writes(demo, inbox)
    page = await login(browser, live_server.url, "agent@demo.omniline", "demo-agent")
    await page.goto(f"{live_server.url}/app?c={conv_id}")
    await page.locator("[data-testid=message][data-direction=in]").wait_for()
    await page.locator("[data-testid=contact-name]").wait_for()
    assert await page.locator("[data-testid=contact-erase]").count() == 0
