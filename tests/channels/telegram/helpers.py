"""Building Telegram updates and a bot inbox that talks to the fake Bot API."""

from __future__ import annotations

import itertools
import secrets
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import select

from omniline import db
from omniline.auth.principal import Principal
from omniline.channels.telegram import admin
from omniline.conversations.models import Attachment, Conversation, Message
from omniline.inboxes import service as inboxes
from omniline.jobs.runner import Runner
from tests.channels.telegram.fake_telegram import TOKEN, FakeTelegram
from tests.conftest import Demo

CHAT = 555000111
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
_ids = itertools.count(1)


@dataclass
class Bot:
    inbox_id: int
    key: str
    secret: str

    @property
    def path(self) -> str:
        return f"/channels/telegram/{self.key}/webhook"

    @property
    def headers(self) -> dict[str, str]:
        return {SECRET_HEADER: self.secret}


async def make_bot(demo: Demo, fake: FakeTelegram, **settings: Any) -> Bot:
    cleaned = admin.validate({"bot_token": TOKEN, "api_base": fake.url, **settings})
    async with db.unit_of_work() as session:
        inbox = await inboxes.do_create_inbox(
            session,
            demo.workspace_id,
            channel="telegram",
            name="MicroLend bot",
            key=f"tg-{secrets.token_hex(6)}",
            default_queue_id=demo.queues["First line"],
            settings=cleaned,
        )
        return Bot(inbox.id, inbox.key, cleaned["webhook_secret"])


def user(chat: int = CHAT, first: str = "Ivan", last: str = "Petrov") -> dict[str, Any]:
    return {"id": chat, "is_bot": False, "first_name": first, "last_name": last}


def message(chat: int = CHAT, **content: Any) -> dict[str, Any]:
    """An update carrying a private-chat message; ``content`` is text, photo, contact..."""
    msg = {
        "message_id": next(_ids),
        "from": user(chat),
        "chat": {"id": chat, "type": "private", "first_name": "Ivan"},
        "date": 1_790_000_000,
        **content,
    }
    return {"update_id": next(_ids), "message": msg}


async def post(client: httpx.AsyncClient, bot: Bot, update: Any) -> httpx.Response:
    return await client.post(bot.path, json=update, headers=bot.headers)


async def messages_of(inbox_id: int) -> list[Message]:
    async with db.sessionmaker()() as session:
        rows = await session.scalars(
            select(Message).where(Message.inbox_id == inbox_id).order_by(Message.id)
        )
        return list(rows)


async def attachments_of(message_id: int) -> list[Attachment]:
    async with db.sessionmaker()() as session:
        rows = await session.scalars(select(Attachment).where(Attachment.message_id == message_id))
        return list(rows)


async def conversation(conv_id: int) -> Conversation:
    async with db.sessionmaker()() as session:
        conv = await session.get(Conversation, conv_id)
        assert conv is not None
        return conv


async def run_jobs() -> int:
    total = 0
    runner = Runner()
    try:
        while ran := await runner.run_due():
            total += ran
    finally:
        await runner.stop()
    return total


def admin_principal(demo: Demo) -> Principal:
    return Principal(
        demo.users["admin"],
        demo.workspace_id,
        "admin",
        "Ada Admin",
        "admin@demo.omniline",
        "en",
        None,
    )
