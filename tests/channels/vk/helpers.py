"""Helpers of the VK tests: an inbox pointing at the fake API, callbacks, jobs, replies."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select, update

from omniline import db
from omniline.auth.principal import Principal
from omniline.conversations.models import Attachment, Conversation, Message
from omniline.inboxes import service as inboxes
from omniline.jobs.models import Job, JobState
from omniline.jobs.runner import Runner
from omniline.kit.clock import utcnow
from tests.channels.vk.fake_vk import GROUP_ID, TOKEN, FakeVk
from tests.conftest import Demo

SECRET = "s3cretKey42"
CODE = "a1b2c3d4"
PEER = 512345678


async def make_inbox(demo: Demo, fake: FakeVk | None, **extra: Any) -> tuple[int, str]:
    settings = {
        "group_id": str(GROUP_ID),
        "access_token": TOKEN,
        "secret_key": SECRET,
        "confirmation_code": CODE,
        "api_base": fake.api_base if fake else "https://api.vk.invalid/method",
        "api_version": "5.199",
        **extra,
    }
    async with db.unit_of_work() as session:
        inbox = await inboxes.do_create_inbox(
            session,
            demo.workspace_id,
            channel="vk",
            name="VK community",
            default_queue_id=demo.queues["First line"],
            settings=settings,
        )
        return inbox.id, inbox.key


def event(type_: str = "message_new", **obj: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": type_,
        "group_id": GROUP_ID,
        "event_id": "e" + str(obj.get("id", 0)),
        "v": "5.199",
        "secret": SECRET,
    }
    if type_ == "message_new":
        message = {
            "date": 1700000000,
            "from_id": PEER,
            "peer_id": PEER,
            "id": 10,
            "conversation_message_id": 7,
            "out": 0,
            "text": "Hello",
            "attachments": [],
            "fwd_messages": [],
            **obj,
        }
        body["object"] = {"message": message, "client_info": {"keyboard": True}}
    return body


async def post(client: httpx.AsyncClient, key: str, body: Any) -> httpx.Response:
    return await client.post(f"/channels/vk/{key}/callback", json=body)


async def messages(inbox_id: int) -> list[Message]:
    async with db.sessionmaker()() as session:
        return list(
            await session.scalars(
                select(Message).where(Message.inbox_id == inbox_id).order_by(Message.id)
            )
        )


async def attachments_of(message_id: int) -> list[Attachment]:
    async with db.sessionmaker()() as session:
        return list(
            await session.scalars(select(Attachment).where(Attachment.message_id == message_id))
        )


async def conversation(conv_id: int) -> Conversation:
    async with db.sessionmaker()() as session:
        conv = await session.get(Conversation, conv_id)
        assert conv is not None
        return conv


async def run_jobs() -> int:
    """Time passes until every pending job is due, then the runner runs them once."""
    async with db.unit_of_work() as session:
        await session.execute(
            update(Job).where(Job.state == JobState.pending.value).values(run_at=utcnow())
        )
    runner = Runner()
    try:
        return await runner.run_due()
    finally:
        await runner.stop()


def admin(demo: Demo) -> Principal:
    return Principal(
        demo.users["admin"], demo.workspace_id, "admin", "Admin", "admin@demo.omniline", "en", None
    )


async def message(message_id: int) -> Message:
    async with db.sessionmaker()() as session:
        msg = await session.get(Message, message_id)
        assert msg is not None
        return msg
