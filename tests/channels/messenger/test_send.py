"""Agent replies to Messenger: Send API, quick replies, files, windows, errors, admin."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from omniline import db
from omniline.channels.messenger import admin as fb_admin
from omniline.config import get_settings
from omniline.conversations.attachments import store
from omniline.errors import BadRequest, Conflict, Invalid
from omniline.inboxes.models import Inbox
from tests.channels.messenger import helpers as h
from tests.channels.messenger.fake_graph import (
    APP_SECRET,
    PAGE_ID,
    PNG,
    TOKEN,
    FakeGraph,
    graph_error,
)
from tests.channels.vk.helpers import message, messages, run_jobs
from tests.conftest import Demo, bearer, staff_token


async def _customer_writes(
    demo: Demo, client: httpx.AsyncClient, fake: FakeGraph, **extra: object
) -> tuple[int, int]:
    inbox_id, key = await h.make_inbox(demo, fake, **extra)
    assert (await h.post(client, key, h.page(h.text("m_in", "Hi")))).status_code == 200
    (msg,) = await messages(inbox_id)
    return inbox_id, msg.conversation_id


async def test_a_reply_is_sent_as_a_response(
    demo: Demo, client: httpx.AsyncClient, fake_graph: FakeGraph
) -> None:
    _, conv_id = await _customer_writes(demo, client, fake_graph)
    headers = bearer(await staff_token(client, "agent@demo.omniline", "demo-agent"))
    r = await client.post(
        f"/api/v1/conversations/{conv_id}/messages", json={"text": "Добрый день!"}, headers=headers
    )
    assert r.status_code == 201, r.text
    await run_jobs()
    assert fake_graph.sent == [
        {
            "recipient": {"id": h.PSID},
            "messaging_type": "RESPONSE",
            "message": {"text": "Добрый день!"},
        }
    ]
    msg = await message(int(r.json()["id"]))
    assert (msg.delivery_status, msg.external_id) == ("sent", "m_out1")


async def test_buttons_become_quick_replies_or_a_button_template(
    demo: Demo, client: httpx.AsyncClient, fake_graph: FakeGraph
) -> None:
    _, conv_id = await _customer_writes(demo, client, fake_graph)
    many = [{"text": f"Вариант ответа номер {i}", "payload": f"P{i}"} for i in range(15)]
    await h.reply(demo, conv_id, "Выберите", meta={"buttons": many})
    links = [
        {"text": "Личный кабинет", "url": "https://microlend.example/lk"},
        {"text": "Оператор", "payload": "AGENT"},
    ]
    await h.reply(demo, conv_id, "Куда дальше?", meta={"buttons": links})
    await run_jobs()
    quick, template = (s["message"] for s in fake_graph.sent)
    assert len(quick["quick_replies"]) == 13
    assert quick["quick_replies"][0] == {
        "content_type": "text",
        "title": "Вариант ответа номер"[:20],
        "payload": "P0",
    }
    payload = template["attachment"]["payload"]
    assert payload["template_type"] == "button" and payload["text"] == "Куда дальше?"
    assert payload["buttons"] == [
        {"type": "web_url", "url": "https://microlend.example/lk", "title": "Личный кабинет"},
        {"type": "postback", "title": "Оператор", "payload": "AGENT"},
    ]


async def test_a_file_is_uploaded_with_the_message(
    demo: Demo, client: httpx.AsyncClient, fake_graph: FakeGraph
) -> None:
    _, conv_id = await _customer_writes(demo, client, fake_graph)
    stored = store(get_settings(), demo.workspace_id, "schedule.png", "image/png", PNG)
    msg_id = await h.reply(demo, conv_id, "График платежей", files=[stored])
    await run_jobs()
    upload, text = fake_graph.sent
    assert upload["message"] == {"attachment": {"type": "image", "payload": {"is_reusable": False}}}
    assert upload["recipient"] == {"id": h.PSID}
    assert upload["file"] == ("schedule.png", "image/png", PNG)
    assert text["message"] == {"text": "График платежей"}
    assert (await message(msg_id)).external_id == "m_out2"


async def test_a_retry_sends_only_the_parts_still_missing(
    demo: Demo, client: httpx.AsyncClient, fake_graph: FakeGraph
) -> None:
    _, conv_id = await _customer_writes(demo, client, fake_graph)
    stored = store(get_settings(), demo.workspace_id, "schedule.png", "image/png", PNG)
    msg_id = await h.reply(demo, conv_id, "График", files=[stored])
    fake_graph.fail_next += [None, graph_error(2, "Service temporarily unavailable")]
    await run_jobs()  # the file goes out, the text fails
    failed = await message(msg_id)
    assert failed.delivery_status == "retrying" and "temporarily" in (failed.delivery_error or "")
    await run_jobs()
    assert [("file" in s, s["message"].get("text")) for s in fake_graph.sent] == [
        (True, None),
        (False, "График"),
    ]
    assert (await message(msg_id)).delivery_status == "sent"


async def test_the_human_agent_tag_extends_the_window_to_seven_days(
    demo: Demo, client: httpx.AsyncClient, fake_graph: FakeGraph
) -> None:
    _, conv_id = await _customer_writes(demo, client, fake_graph)
    await h.customer_wrote_ago(conv_id, timedelta(days=2))
    await h.reply(demo, conv_id, "Ответ через два дня")
    await run_jobs()
    (sent,) = fake_graph.sent
    assert (sent["messaging_type"], sent["tag"]) == ("MESSAGE_TAG", "HUMAN_AGENT")
    await h.customer_wrote_ago(conv_id, timedelta(days=8))
    with pytest.raises(Conflict, match="7 days"):
        await h.reply(demo, conv_id, "Слишком поздно")


async def test_without_the_tag_the_window_is_24_hours(
    demo: Demo, client: httpx.AsyncClient, fake_graph: FakeGraph
) -> None:
    _, conv_id = await _customer_writes(demo, client, fake_graph, human_agent_tag=False)
    msg_id = await h.reply(demo, conv_id, "Вовремя")
    await h.customer_wrote_ago(conv_id, timedelta(hours=25))
    with pytest.raises(Conflict, match="24 hours"):
        await h.reply(demo, conv_id, "Поздно")
    await run_jobs()  # queued while the window was open, sent after it closed: refused
    late = await message(msg_id)
    assert late.delivery_status == "failed" and "24 hours" in (late.delivery_error or "")
    assert fake_graph.sent == []


async def test_rate_limit_waits_then_sends(
    demo: Demo, client: httpx.AsyncClient, fake_graph: FakeGraph
) -> None:
    _, conv_id = await _customer_writes(demo, client, fake_graph)
    fake_graph.fail_next.append(graph_error(613, "Calls to this api have exceeded the rate limit."))
    msg_id = await h.reply(demo, conv_id, "Секунду")
    await run_jobs()
    waiting = await message(msg_id)
    assert waiting.delivery_status == "queued" and "rate limit" in (waiting.delivery_error or "")
    await run_jobs()
    assert (await message(msg_id)).delivery_status == "sent"


@pytest.mark.parametrize(
    ("code", "text", "reason"),
    [
        (190, "Error validating access token", "page access token"),
        (551, "This person isn't available right now.", "isn't available right now"),
    ],
)
async def test_permanent_errors_are_shown_on_the_message(
    demo: Demo,
    client: httpx.AsyncClient,
    fake_graph: FakeGraph,
    code: int,
    text: str,
    reason: str,
) -> None:
    _, conv_id = await _customer_writes(demo, client, fake_graph)
    fake_graph.fail_next.append(graph_error(code, text))
    msg_id = await h.reply(demo, conv_id, "Здравствуйте")
    await run_jobs()
    failed = await message(msg_id)
    assert failed.delivery_status == "failed" and reason in (failed.delivery_error or "")
    assert await run_jobs() == 0


async def test_connection_test_and_page_subscription(demo: Demo, fake_graph: FakeGraph) -> None:
    inbox_id, _ = await h.make_inbox(demo, fake_graph)
    async with db.sessionmaker()() as session:
        inbox = await session.get(Inbox, inbox_id)
        assert inbox is not None
        ok = await fb_admin.test_connection(inbox)
        assert ok.ok and "MicroLend" in ok.message
        await fb_admin.subscribe_page(session, inbox)
        assert fake_graph.subscribed == [fb_admin.FIELDS_SUBSCRIBED]
        inbox.settings = {**inbox.settings, "page_access_token": TOKEN + "x"}
        wrong = await fb_admin.test_connection(inbox)
        assert not wrong.ok and "page access token" in wrong.message
        with pytest.raises(BadRequest, match="did not subscribe"):
            await fb_admin.subscribe_page(session, inbox)
        inbox.settings = {**inbox.settings, "api_base": "http://127.0.0.1:9"}
        down = await fb_admin.test_connection(inbox)
        assert not down.ok and "could not be reached" in down.message


def test_settings_are_checked_and_a_verify_token_generated() -> None:
    good = {"page_id": PAGE_ID, "page_access_token": TOKEN, "app_secret": APP_SECRET}
    cleaned = fb_admin.validate(good)
    assert len(cleaned["verify_token"]) >= 20 and cleaned["human_agent_tag"] is True
    assert cleaned["api_base"] == "https://graph.facebook.com"
    for name, value in [
        ("page_id", "microlend"),
        ("app_secret", "not hex"),
        ("verify_token", "short"),
        ("api_version", "24"),
    ]:
        with pytest.raises(Invalid) as info:
            fb_admin.validate({**good, name: value})
        assert info.value.fields[0]["field"] == name
