"""Agent replies to VK: messages.send, keyboards, files, random_id, errors, test connection."""

from __future__ import annotations

from typing import Any

import httpx
import orjson

from omniline import db
from omniline.channels.vk import admin as vk_admin
from omniline.channels.vk import sender
from omniline.config import get_settings
from omniline.conversations.attachments import store
from omniline.conversations.models import Conversation, Message
from omniline.conversations.service import do_reply
from omniline.errors import Invalid
from omniline.inboxes.models import Inbox
from tests.channels.vk import helpers as h
from tests.channels.vk.fake_vk import PNG, TOKEN, FakeVk
from tests.conftest import Demo, bearer, staff_token


async def _customer_writes(demo: Demo, client: httpx.AsyncClient, fake: FakeVk) -> tuple[int, int]:
    inbox_id, key = await h.make_inbox(demo, fake)
    assert (await h.post(client, key, h.event(text="Hi"))).status_code == 200
    (msg,) = await h.messages(inbox_id)
    return inbox_id, msg.conversation_id


async def _reply(demo: Demo, conv_id: int, text: str, **kw: Any) -> int:
    async with db.unit_of_work() as session:
        received = await do_reply(session, h.admin(demo), conv_id, text, **kw)
        return received.message.id


async def test_a_reply_goes_out_with_a_stable_random_id(
    demo: Demo, client: httpx.AsyncClient, fake_vk: FakeVk
) -> None:
    _, conv_id = await _customer_writes(demo, client, fake_vk)
    headers = bearer(await staff_token(client, "agent@demo.omniline", "demo-agent"))
    r = await client.post(
        f"/api/v1/conversations/{conv_id}/messages", json={"text": "Добрый день!"}, headers=headers
    )
    assert r.status_code == 201, r.text
    await h.run_jobs()
    (sent,) = fake_vk.sent
    assert sent["peer_id"] == str(h.PEER) and sent["message"] == "Добрый день!"
    assert sent["random_id"] == str(sender.random_id(int(r.json()["id"])))
    assert "keyboard" not in sent
    msg = await h.message(int(r.json()["id"]))
    assert msg.delivery_status == "sent"
    assert msg.external_id is not None and msg.external_id.startswith(f"out:{h.PEER}:")


async def test_a_retried_send_is_not_shown_twice(
    demo: Demo, client: httpx.AsyncClient, fake_vk: FakeVk
) -> None:
    _, conv_id = await _customer_writes(demo, client, fake_vk)
    msg_id = await _reply(demo, conv_id, "Платёж получен")
    async with db.sessionmaker()() as session:
        msg = await session.get(Message, msg_id)
        conv = await session.get(Conversation, conv_id)
        inbox = await session.get(Inbox, msg.inbox_id if msg else 0)
        assert msg and conv and inbox
        # The first attempt reached VK but its answer was lost; the job tries again.
        first = await sender.send(session, msg, conv, inbox)
        second = await sender.send(session, msg, conv, inbox)
    assert first.status.value == second.status.value == "sent"
    assert first.external_id == second.external_id
    assert fake_vk.sent_texts() == ["Платёж получен"]
    assert len([c for c in fake_vk.calls if c[0] == "messages.send"]) == 2


async def test_buttons_become_a_vk_keyboard(
    demo: Demo, client: httpx.AsyncClient, fake_vk: FakeVk
) -> None:
    _, conv_id = await _customer_writes(demo, client, fake_vk)
    buttons = [
        {"text": "Продлить", "payload": "extend"},
        {"text": "Оператор", "payload": None},
    ]
    await _reply(demo, conv_id, "Что сделать?", meta={"buttons": buttons})
    links = [{"text": "Личный кабинет", "url": "https://microlend.example/lk"}]
    await _reply(demo, conv_id, "Ссылка", meta={"buttons": links})
    await h.run_jobs()
    reply_kb, link_kb = (orjson.loads(s["keyboard"]) for s in fake_vk.sent)
    assert reply_kb["one_time"] is True and reply_kb["inline"] is False
    actions = [row[0]["action"] for row in reply_kb["buttons"]]
    assert [a["label"] for a in actions] == ["Продлить", "Оператор"]
    assert [orjson.loads(a["payload"])["payload"] for a in actions] == ["extend", "Оператор"]
    assert link_kb["inline"] is True
    assert link_kb["buttons"][0][0]["action"] == {
        "type": "open_link",
        "link": "https://microlend.example/lk",
        "label": "Личный кабинет",
    }


async def test_files_are_uploaded_then_attached(
    demo: Demo, client: httpx.AsyncClient, fake_vk: FakeVk
) -> None:
    _, conv_id = await _customer_writes(demo, client, fake_vk)
    settings = get_settings()
    files = [
        store(settings, demo.workspace_id, "graph.png", "image/png", PNG),
        store(settings, demo.workspace_id, "contract.pdf", "application/pdf", b"%PDF-1.4"),
    ]
    msg_id = await _reply(demo, conv_id, "Договор и график", files=files)
    await h.run_jobs()
    assert [(k, name) for k, name, _ in fake_vk.uploads] == [
        ("photo", "graph.png"),
        ("doc", "contract.pdf"),
    ]
    (sent,) = fake_vk.sent
    photo, doc = sent["attachment"].split(",")
    assert photo.startswith(f"photo-{h.GROUP_ID}_") and photo.endswith("_ak")
    assert doc.startswith(f"doc-{h.GROUP_ID}_")
    assert (await h.message(msg_id)).delivery_status == "sent"


async def test_too_many_requests_waits_then_sends(
    demo: Demo, client: httpx.AsyncClient, fake_vk: FakeVk
) -> None:
    _, conv_id = await _customer_writes(demo, client, fake_vk)
    fake_vk.fail_once["messages.send"] = (6, "Too many requests per second")
    msg_id = await _reply(demo, conv_id, "Секунду")
    await h.run_jobs()
    waiting = await h.message(msg_id)
    assert waiting.delivery_status == "queued"
    assert waiting.delivery_error and "Too many requests" in waiting.delivery_error
    await h.run_jobs()
    assert (await h.message(msg_id)).delivery_status == "sent"
    assert fake_vk.sent_texts() == ["Секунду"]


async def test_a_refusal_is_shown_on_the_message_and_not_retried(
    demo: Demo, client: httpx.AsyncClient, fake_vk: FakeVk
) -> None:
    _, conv_id = await _customer_writes(demo, client, fake_vk)
    fake_vk.fail_once["messages.send"] = (901, "Can't send messages for users without permission")
    msg_id = await _reply(demo, conv_id, "Здравствуйте")
    await h.run_jobs()
    failed = await h.message(msg_id)
    assert failed.delivery_status == "failed"
    assert (
        failed.delivery_error and "not allowed messages from the community" in failed.delivery_error
    )
    assert await h.run_jobs() == 0  # permanent: nothing scheduled
    assert fake_vk.sent == []


async def test_test_connection_reports_ok_wrong_token_and_unreachable(
    demo: Demo, fake_vk: FakeVk
) -> None:
    inbox_id, _ = await h.make_inbox(demo, fake_vk)
    async with db.sessionmaker()() as session:
        inbox = await session.get(Inbox, inbox_id)
    assert inbox is not None
    ok = await vk_admin.test_connection(inbox)
    assert ok.ok and "MicroLend" in ok.message
    inbox.settings = {**inbox.settings, "access_token": TOKEN + "x"}
    wrong = await vk_admin.test_connection(inbox)
    assert not wrong.ok and "token" in wrong.message
    inbox.settings = {**inbox.settings, "api_base": "http://127.0.0.1:9/method"}
    down = await vk_admin.test_connection(inbox)
    assert not down.ok and "could not be reached" in down.message


def test_settings_are_checked_and_cleaned() -> None:
    good = {
        "group_id": "club218276154",
        "access_token": TOKEN,
        "secret_key": h.SECRET,
        "confirmation_code": h.CODE,
    }
    cleaned = vk_admin.validate(good)
    assert cleaned["group_id"] == "218276154"
    assert cleaned["api_base"] == "https://api.vk.com/method" and cleaned["api_version"] == "5.199"
    for name, value in [
        ("group_id", "microlend"),
        ("secret_key", "with space"),
        ("confirmation_code", ""),
        ("api_version", "6"),
        ("api_base", "ftp://x"),
    ]:
        try:
            vk_admin.validate({**good, name: value})
        except Invalid as exc:
            assert exc.fields[0]["field"] == name
        else:
            raise AssertionError(f"{name}={value!r} was accepted")
