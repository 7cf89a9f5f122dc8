"""The admin side: checking the settings, "Test connection" and registering the webhook."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select

from omniline import db
from omniline.config import Settings
from omniline.errors import DomainError, Invalid
from omniline.inboxes.channel_types import ChannelType, channel_type
from omniline.inboxes.models import Inbox
from tests.channels.telegram.fake_telegram import TOKEN, FakeTelegram
from tests.channels.telegram.helpers import make_bot
from tests.conftest import Demo, free_port


def _type() -> ChannelType:
    ct = channel_type("telegram")
    assert ct is not None, "the telegram channel type is registered"
    return ct


async def _inbox(inbox_id: int) -> Inbox:
    async with db.sessionmaker()() as session:
        inbox = await session.get(Inbox, inbox_id)
        assert inbox is not None
        return inbox


def test_the_form_asks_for_the_token_and_keeps_it_secret(app: object) -> None:
    fields = {f.name: f for f in _type().fields}
    assert fields["bot_token"].kind == "secret" and fields["bot_token"].required
    assert fields["webhook_secret"].kind == "secret"
    assert fields["api_base"].default == "https://api.telegram.org"


@pytest.mark.parametrize(
    "token", ["", "not a token", "123456:short", "abc:AAEhBOweik6ad9r_QXMENQjcrGbqCr4K"]
)
def test_a_token_that_is_not_botfathers_format_is_refused(app: object, token: str) -> None:
    with pytest.raises(Invalid) as err:
        _type().validate({"bot_token": token})
    assert err.value.fields[0]["field"] == "bot_token"


def test_an_empty_webhook_secret_is_generated_and_a_given_one_kept(app: object) -> None:
    first = _type().validate({"bot_token": f" {TOKEN} "})
    second = _type().validate({"bot_token": TOKEN})
    assert first["bot_token"] == TOKEN
    assert len(first["webhook_secret"]) >= 32
    assert first["webhook_secret"] != second["webhook_secret"]
    assert first["api_base"] == "https://api.telegram.org"
    kept = _type().validate({"bot_token": TOKEN, "webhook_secret": "my-secret_1"})
    assert kept["webhook_secret"] == "my-secret_1"
    with pytest.raises(Invalid):
        _type().validate({"bot_token": TOKEN, "webhook_secret": "has spaces"})
    with pytest.raises(Invalid):
        _type().validate({"bot_token": TOKEN, "api_base": "ftp://proxy"})


async def test_connection_ok_names_the_bot(demo: Demo, fake_telegram: FakeTelegram) -> None:
    bot = await make_bot(demo, fake_telegram)
    result = await _type().test(await _inbox(bot.inbox_id))
    assert result.ok and result.message == "Connected as @microlend_bot"


async def test_connection_with_a_wrong_token_says_telegram_refused_it(
    demo: Demo, fake_telegram: FakeTelegram
) -> None:
    bot = await make_bot(
        demo, fake_telegram, bot_token="987654321:AAWrongWrongWrongWrongWrongWrong"
    )
    result = await _type().test(await _inbox(bot.inbox_id))
    assert not result.ok and "Telegram refused the token" in result.message


async def test_connection_to_an_unreachable_server_says_so(
    demo: Demo, fake_telegram: FakeTelegram
) -> None:
    bot = await make_bot(demo, fake_telegram, api_base=f"http://127.0.0.1:{free_port()}")
    result = await _type().test(await _inbox(bot.inbox_id))
    assert not result.ok and "cannot be reached" in result.message


async def test_saving_registers_the_webhook_with_the_secret(
    demo: Demo, fake_telegram: FakeTelegram, settings: Settings
) -> None:
    settings.public_base_url = "https://chat.microlend.example"
    bot = await make_bot(demo, fake_telegram)
    async with db.unit_of_work() as session:
        inbox = await session.get(Inbox, bot.inbox_id)
        assert inbox is not None
        await _type().after_save(session, inbox)
    (call,) = fake_telegram.called("setWebhook")
    assert (
        call.params["url"] == f"https://chat.microlend.example/channels/telegram/{bot.key}/webhook"
    )
    assert call.params["secret_token"] == bot.secret
    assert set(call.params["allowed_updates"]) == {"message", "edited_message", "callback_query"}
    info = _type().setup(await _inbox(bot.inbox_id), "https://chat.microlend.example")
    assert info[0][1] == call.params["url"]


async def test_a_refused_webhook_shows_telegrams_reason(
    demo: Demo, fake_telegram: FakeTelegram, settings: Settings
) -> None:
    settings.public_base_url = "http://localhost:8000"
    bot = await make_bot(demo, fake_telegram)
    async with db.unit_of_work() as session:
        inbox = await session.get(Inbox, bot.inbox_id)
        assert inbox is not None
        with pytest.raises(DomainError) as err:
            await _type().after_save(session, inbox)
    assert "An HTTPS URL must be provided for webhook" in err.value.message


async def test_connecting_a_bot_from_the_admin_pages_registers_its_webhook(
    demo: Demo, client: httpx.AsyncClient, fake_telegram: FakeTelegram, settings: Settings
) -> None:
    from tests.workspaces.test_admin_pages import login_admin, post_form

    settings.public_base_url = "https://chat.microlend.example"
    csrf = await login_admin(client)
    r = await post_form(
        client,
        "/admin/inboxes/connect/telegram",
        csrf,
        {
            "name": "MicroLend bot",
            "default_queue_id": str(demo.queues["First line"]),
            "enabled": "1",
            "setting_bot_token": TOKEN,
            "setting_api_base": fake_telegram.url,
        },
    )
    assert r.status_code == 303, r.text
    async with db.sessionmaker()() as session:
        inbox = await session.scalar(select(Inbox).where(Inbox.channel == "telegram"))
    assert inbox is not None
    secret = inbox.settings["webhook_secret"]
    (call,) = fake_telegram.called("setWebhook")
    assert call.params["secret_token"] == secret
    assert call.params["url"].endswith(f"/channels/telegram/{inbox.key}/webhook")

    page = await client.get(r.headers["location"])
    assert page.status_code == 200
    assert call.params["url"] in page.text  # under Setup, to check against BotFather
    assert TOKEN not in page.text  # the token is never shown again
    update = {
        "update_id": 1,
        "message": {"message_id": 1, "chat": {"id": 7, "type": "private"}, "text": "hi"},
    }
    headers = {"X-Telegram-Bot-Api-Secret-Token": secret}
    hook = await client.post(
        f"/channels/telegram/{inbox.key}/webhook", json=update, headers=headers
    )
    assert hook.status_code == 200
