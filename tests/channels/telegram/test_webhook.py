"""Telegram updates arriving at the webhook: who may post, what is stored, and how."""

from __future__ import annotations

import httpx

from omniline import db
from omniline.contacts.models import Contact
from tests.channels.telegram.fake_telegram import FakeTelegram
from tests.channels.telegram.helpers import (
    CHAT,
    SECRET_HEADER,
    conversation,
    make_bot,
    message,
    messages_of,
    post,
    user,
)
from tests.conftest import Demo


async def test_a_missing_or_wrong_secret_is_refused_and_nothing_stored(
    demo: Demo, client: httpx.AsyncClient, fake_telegram: FakeTelegram
) -> None:
    bot = await make_bot(demo, fake_telegram)
    update = message(text="Hello")
    missing = await client.post(bot.path, json=update)
    wrong = await client.post(bot.path, json=update, headers={SECRET_HEADER: "guess"})
    assert missing.status_code == 401 and missing.json()["error"]["code"] == "unauthorized"
    assert wrong.status_code == 403 and wrong.json()["error"]["code"] == "forbidden"
    unknown = await client.post(
        "/channels/telegram/no-such-key/webhook", json=update, headers=bot.headers
    )
    assert unknown.status_code == 404
    assert await messages_of(bot.inbox_id) == []


async def test_malformed_updates_get_400_and_nothing_is_stored(
    demo: Demo, client: httpx.AsyncClient, fake_telegram: FakeTelegram
) -> None:
    bot = await make_bot(demo, fake_telegram)
    not_json = await client.post(bot.path, content=b"{not json", headers=bot.headers)
    assert not_json.status_code == 400
    for bad in (
        [1, 2],
        {"message": {"text": "hi"}},
        {"update_id": 1, "message": {"message_id": 1, "text": "no chat"}},
        {"update_id": 2, "message": {"message_id": "x", "chat": {"id": 1, "type": "private"}}},
        {"update_id": 3, "callback_query": {"data": "no id"}},
    ):
        r = await post(client, bot, bad)
        assert r.status_code == 400, (bad, r.text)
        assert r.json()["error"]["code"] == "bad_request"
    assert await messages_of(bot.inbox_id) == []


async def test_updates_we_do_not_handle_and_group_chats_are_acknowledged_and_ignored(
    demo: Demo, client: httpx.AsyncClient, fake_telegram: FakeTelegram
) -> None:
    bot = await make_bot(demo, fake_telegram)
    group = message(text="hello all")
    group["message"]["chat"] = {"id": -100123, "type": "group", "title": "Borrowers"}
    for update in (
        {"update_id": 10, "my_chat_member": {"chat": {"id": CHAT}}},
        {"update_id": 11, "poll": {"id": "p", "question": "?"}},
        group,
        message(location={"latitude": 55.7, "longitude": 37.6}),
    ):
        r = await post(client, bot, update)
        assert r.status_code == 200 and r.json() == {"ok": True, "ignored": True}
    assert await messages_of(bot.inbox_id) == []


async def test_a_text_message_starts_a_conversation_and_a_repeat_is_stored_once(
    demo: Demo, client: httpx.AsyncClient, fake_telegram: FakeTelegram
) -> None:
    bot = await make_bot(demo, fake_telegram)
    update = message(text="My card is <b>blocked</b>")
    first = await post(client, bot, update)
    again = await post(client, bot, update)
    assert first.status_code == again.status_code == 200
    (stored,) = await messages_of(bot.inbox_id)
    msg_id = update["message"]["message_id"]
    assert stored.text == "My card is <b>blocked</b>"
    assert stored.external_id == f"{CHAT}:{msg_id}"
    assert stored.author_name == "Ivan Petrov"
    conv = await conversation(stored.conversation_id)
    assert conv.contact_address == str(CHAT)
    assert conv.status == "queued"


async def test_messages_from_one_chat_share_a_conversation_and_an_edit_is_kept(
    demo: Demo, client: httpx.AsyncClient, fake_telegram: FakeTelegram
) -> None:
    bot = await make_bot(demo, fake_telegram)
    first = message(text="I pay tomorrow")
    await post(client, bot, first)
    edited = dict(first["message"], text="I pay on Friday", edit_date=1_790_000_100)
    await post(client, bot, {"update_id": 99, "edited_message": edited})
    await post(client, bot, message(text="Is that fine?"))
    msgs = await messages_of(bot.inbox_id)
    assert [m.text for m in msgs] == ["I pay tomorrow", "I pay on Friday", "Is that fine?"]
    assert len({m.conversation_id for m in msgs}) == 1
    assert msgs[1].meta["telegram"]["edited"] is True


async def test_sharing_ones_own_contact_fills_the_phone(
    demo: Demo, client: httpx.AsyncClient, fake_telegram: FakeTelegram
) -> None:
    bot = await make_bot(demo, fake_telegram)
    own = {"phone_number": "79161234567", "first_name": "Ivan", "user_id": CHAT}
    r = await post(client, bot, message(contact=own))
    assert r.status_code == 200
    (stored,) = await messages_of(bot.inbox_id)
    assert stored.text == "Shared contact: +79161234567 (Ivan)"
    conv = await conversation(stored.conversation_id)
    async with db.sessionmaker()() as session:
        contact = await session.get(Contact, conv.contact_id)
    assert contact is not None and contact.phone == "+79161234567"


async def test_a_contact_of_someone_else_is_shown_but_not_taken_as_the_customers_phone(
    demo: Demo, client: httpx.AsyncClient, fake_telegram: FakeTelegram
) -> None:
    bot = await make_bot(demo, fake_telegram)
    friend = {"phone_number": "+7 916 765-43-21", "first_name": "Olga", "user_id": 42}
    await post(client, bot, message(contact=friend, caption="my guarantor"))
    (stored,) = await messages_of(bot.inbox_id)
    assert "Shared contact: +79167654321 (Olga)" in stored.text
    conv = await conversation(stored.conversation_id)
    async with db.sessionmaker()() as session:
        contact = await session.get(Contact, conv.contact_id)
    assert contact is not None and contact.phone is None


async def test_a_pressed_button_arrives_as_its_label_with_the_payload(
    demo: Demo, client: httpx.AsyncClient, fake_telegram: FakeTelegram
) -> None:
    bot = await make_bot(demo, fake_telegram)
    keyboard = {
        "inline_keyboard": [
            [{"text": "Extend my loan", "callback_data": "extend"}],
            [{"text": "Talk to a person", "callback_data": "human"}],
        ]
    }
    update = {
        "update_id": 500,
        "callback_query": {
            "id": "4382bfdwdsb323b2d9",
            "from": user(),
            "chat_instance": "-1",
            "data": "extend",
            "message": {
                "message_id": 77,
                "from": {"id": 123456789, "is_bot": True, "first_name": "MicroLend"},
                "chat": {"id": CHAT, "type": "private"},
                "date": 1_790_000_000,
                "text": "What would you like?",
                "reply_markup": keyboard,
            },
        },
    }
    r = await post(client, bot, update)
    assert r.status_code == 200
    again = await post(client, bot, update)
    assert again.status_code == 200
    (stored,) = await messages_of(bot.inbox_id)
    assert stored.text == "Extend my loan"
    assert stored.meta["button_payload"] == "extend"
    assert stored.external_id == "cb:4382bfdwdsb323b2d9"
    await _settle()
    answers = fake_telegram.called("answerCallbackQuery")
    assert [a.params["callback_query_id"] for a in answers] == ["4382bfdwdsb323b2d9"]


async def test_a_disabled_inbox_refuses_updates(
    demo: Demo, client: httpx.AsyncClient, fake_telegram: FakeTelegram
) -> None:
    from omniline.channels import _kit
    from omniline.inboxes.models import Inbox

    bot = await make_bot(demo, fake_telegram)
    async with db.unit_of_work() as session:
        inbox = await session.get(Inbox, bot.inbox_id)
        assert inbox is not None
        inbox.enabled = False
    _kit.forget(bot.key)
    r = await post(client, bot, message(text="Hello"))
    assert r.status_code == 404
    assert await messages_of(bot.inbox_id) == []


async def _settle() -> None:
    """Lets the fire-and-forget answerCallbackQuery finish."""
    import asyncio

    from omniline.channels.telegram import api

    if api._pending:
        await asyncio.gather(*api._pending)
