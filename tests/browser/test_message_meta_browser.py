"""Channel details on messages in the timeline: email subject, quoted text, the original letter
in a locked-down frame, refused files, pressed buttons, reply buttons, the email copy note."""

from __future__ import annotations

from typing import Any

import pytest

from omniline import db
from omniline.conversations.inbound import InboundMessage
from omniline.conversations.models import Message
from omniline.conversations.service import receive_inbound
from omniline.kit.clock import utcnow
from tests.browser.test_merge_browser import login
from tests.conftest import Demo, LiveServer
from tests.contacts.people import make_inbox

pytestmark = pytest.mark.browser

XSS = "<img src=x onerror=alert(1)><script>alert(2)</script>"


async def _letter(demo: Demo, inbox_id: int, pixel: str) -> int:
    meta = {
        "subject": f"Loan statement {XSS}",
        "quoted": "> On Monday you wrote:\n> please send the statement",
        "html": f'<p>Hello <b>team</b></p><img src="{pixel}">{XSS}',
        "auto_submitted": True,
        "media_failed": [{"filename": "virus.exe", "reason": "this type of file is not allowed"}],
    }
    async with db.unit_of_work() as session:
        (res,) = await receive_inbound(
            session,
            [
                InboundMessage(
                    workspace_id=demo.workspace_id,
                    inbox_id=inbox_id,
                    text="Please see the statement",
                    sender_address="olena@example.com",
                    sender_name="Olena",
                    external_id="<m1@example.com>",
                    meta=meta,
                )
            ],
        )
        msg = res.message
        session.add(
            Message(
                workspace_id=demo.workspace_id,
                conversation_id=msg.conversation_id,
                inbox_id=inbox_id,
                direction="out",
                author_type="bot",
                author_name="Bot",
                text="Choose a topic",
                meta={
                    "buttons": [
                        {"text": "Loans", "payload": "loans"},
                        {"text": XSS, "payload": "x"},
                    ],
                    "sent_by_email": "olena@example.com",
                },
                delivery_status="sent",
                created_at=utcnow(),
            )
        )
        await session.flush()
        return msg.conversation_id


async def test_channel_details_are_shown_as_text(
    browser: Any, live_server: LiveServer, demo: Demo
) -> None:
    email = await make_inbox(demo, "email")
    # Same origin as the workspace, so only the frame's own policy keeps it from loading.
    conv_id = await _letter(demo, email, f"{live_server.url}/healthz?tracking-pixel")
    page = await login(browser, live_server.url, "agent@demo.omniline", "demo-agent")
    dialogs: list[str] = []
    fetched: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.on("request", lambda r: fetched.append(r.url) if "tracking-pixel" in r.url else None)
    await page.goto(f"{live_server.url}/app?c={conv_id}")
    letter = page.locator("[data-testid=message][data-direction=in]")
    await letter.wait_for()

    subject = letter.locator("[data-testid=msg-subject]")
    assert await subject.inner_text() == f"Loan statement {XSS}"
    assert "no auto-reply sent" in await letter.locator("[data-testid=msg-auto]").inner_text()
    failed = await letter.locator("[data-testid=media-failed]").inner_text()
    assert failed == "File not accepted: virus.exe (this type of file is not allowed)"

    assert await letter.locator("[data-testid=msg-quoted]").count() == 0
    await letter.locator("[data-testid=show-quoted]").click()
    assert (
        "please send the statement" in await letter.locator("[data-testid=msg-quoted]").inner_text()
    )

    await letter.locator("[data-testid=show-original]").click()
    frame_el = letter.locator("[data-testid=original-frame]")
    await frame_el.wait_for()
    assert await frame_el.get_attribute("sandbox") == ""
    srcdoc = await frame_el.get_attribute("srcdoc") or ""
    assert "default-src 'none'" in srcdoc
    frame = await (await frame_el.element_handle()).content_frame()
    await frame.wait_for_load_state("load")
    assert "team" in await frame.locator("body").inner_text()
    assert fetched == [], "an image of the letter was fetched"

    bot = page.locator("[data-testid=message][data-direction=out]")
    chips = bot.locator("[data-testid=msg-buttons] .chip")
    assert [await chips.nth(i).inner_text() for i in range(await chips.count())] == ["Loans", XSS]
    note = await bot.locator("[data-testid=sent-by-email]").inner_text()
    assert note == "also sent by email to olena@example.com"
    assert await page.locator("[data-testid=timeline] img[src=x]").count() == 0
    assert dialogs == [], "customer HTML ran a script"
