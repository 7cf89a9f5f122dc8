"""Helpers of the Messenger tests: an inbox on the fake Graph API, signed webhook posts."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta
from typing import Any

import httpx
import orjson
from sqlalchemy import update

from omniline import db
from omniline.conversations.models import Direction, Message
from omniline.conversations.service import do_reply
from omniline.inboxes import service as inboxes
from omniline.kit.clock import utcnow
from tests.channels.messenger.fake_graph import APP_SECRET, PAGE_ID, TOKEN, VERSION, FakeGraph
from tests.channels.vk.helpers import admin
from tests.conftest import Demo

VERIFY = "verify-token-123456"
PSID = "2400000000000001"


async def make_inbox(demo: Demo, fake: FakeGraph | None, **extra: Any) -> tuple[int, str]:
    settings = {
        "page_id": PAGE_ID,
        "page_access_token": TOKEN,
        "app_secret": APP_SECRET,
        "verify_token": VERIFY,
        "human_agent_tag": True,
        "api_base": fake.base if fake else "https://graph.facebook.invalid",
        "api_version": VERSION,
        **extra,
    }
    async with db.unit_of_work() as session:
        inbox = await inboxes.do_create_inbox(
            session,
            demo.workspace_id,
            channel="messenger",
            name="Facebook page",
            default_queue_id=demo.queues["First line"],
            settings=settings,
        )
        return inbox.id, inbox.key


def signature(raw: bytes, secret: str = APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


def page(*events: dict[str, Any]) -> dict[str, Any]:
    return {"object": "page", "entry": [{"id": PAGE_ID, "time": 1, "messaging": list(events)}]}


def text(mid: str, body: str = "Hello", **message: Any) -> dict[str, Any]:
    return {
        "sender": {"id": PSID},
        "recipient": {"id": PAGE_ID},
        "timestamp": 1700000000000,
        "message": {"mid": mid, "text": body, **message},
    }


def report(kind: str, **body: Any) -> dict[str, Any]:
    return {"sender": {"id": PSID}, "recipient": {"id": PAGE_ID}, kind: body}


async def post(
    client: httpx.AsyncClient, key: str, body: Any, *, sign: str | None = APP_SECRET
) -> httpx.Response:
    raw = body if isinstance(body, bytes) else orjson.dumps(body)
    headers = {"content-type": "application/json"}
    if sign is not None:
        headers["X-Hub-Signature-256"] = signature(raw, sign)
    return await client.post(f"/channels/messenger/{key}/webhook", content=raw, headers=headers)


async def reply(demo: Demo, conv_id: int, body: str, **kw: Any) -> int:
    async with db.unit_of_work() as session:
        received = await do_reply(session, admin(demo), conv_id, body, **kw)
        return received.message.id


async def customer_wrote_ago(conv_id: int, age: timedelta) -> None:
    async with db.unit_of_work() as session:
        await session.execute(
            update(Message)
            .where(
                Message.conversation_id == conv_id,
                Message.direction == Direction.inbound.value,
            )
            .values(created_at=utcnow() - age)
        )
