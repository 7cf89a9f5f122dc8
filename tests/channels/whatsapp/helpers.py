"""Building signed webhooks as Meta sends them, and reading back what was stored."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
from sqlalchemy import select

from omniline import db
from omniline.conversations.models import Conversation, Message
from omniline.jobs.runner import Runner
from tests.channels.whatsapp.fake_graph import PHONE_ID, TOKEN, VERSION, WABA_ID, FakeGraph
from tests.conftest import Demo, bearer, staff_token

CUSTOMER = "380501112233"
# A real 1x1 PNG.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="
)
APP_SECRET = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"


@dataclass
class WaInbox:
    id: int
    key: str
    app_secret: str
    verify_token: str

    @property
    def hook(self) -> str:
        return f"/channels/whatsapp/{self.key}/webhook"


def settings_for(graph: FakeGraph, **overrides: Any) -> dict[str, Any]:
    return {
        "phone_number_id": PHONE_ID,
        "waba_id": WABA_ID,
        "access_token": TOKEN,
        "app_secret": APP_SECRET,
        "verify_token": "",
        "api_base": graph.url,
        "api_version": VERSION,
        **overrides,
    }


async def create_inbox(demo: Demo, graph: FakeGraph, queue: str = "First line") -> WaInbox:
    from omniline.channels.whatsapp import channel_type
    from omniline.inboxes import service as inboxes

    key = f"wa-{secrets.token_hex(6)}"
    async with db.unit_of_work() as session:
        inbox = await inboxes.do_create_inbox(
            session,
            demo.workspace_id,
            channel="whatsapp",
            name="WhatsApp +380 44 123 4567",
            key=key,
            default_queue_id=demo.queues[queue],
            settings=channel_type.validate(settings_for(graph)),
        )
        await channel_type.after_save(session, inbox)
        return WaInbox(inbox.id, key, APP_SECRET, inbox.settings["verify_token"])


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def envelope(value: dict[str, Any]) -> dict[str, Any]:
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "380441234567", "phone_number_id": PHONE_ID},
        **value,
    }
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": WABA_ID, "changes": [{"value": value, "field": "messages"}]}],
    }


def incoming(
    *messages: dict[str, Any], sender: str = CUSTOMER, name: str = "Taras Shevchuk"
) -> dict[str, Any]:
    contacts = [{"profile": {"name": name}, "wa_id": sender}]
    return envelope({"contacts": contacts, "messages": list(messages)})


def message(
    kind: str, wamid: str, sender: str = CUSTOMER, ago: float = 0, **part: Any
) -> dict[str, Any]:
    return {
        "from": sender,
        "id": wamid,
        "timestamp": str(int(time.time() - ago)),
        "type": kind,
        **part,
    }


def text(wamid: str, body: str, **kw: Any) -> dict[str, Any]:
    return message("text", wamid, text={"body": body}, **kw)


def statuses(*items: dict[str, Any]) -> dict[str, Any]:
    return envelope({"statuses": list(items)})


def status(wamid: str, state: str, errors: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": wamid,
        "status": state,
        "timestamp": str(int(time.time())),
        "recipient_id": CUSTOMER,
    }
    if errors:
        item["errors"] = errors
    return item


async def post_hook(
    client: httpx.AsyncClient,
    wa: WaInbox,
    payload: Any,
    *,
    secret: str | None = None,
    signature: str | None = None,
    raw: bytes | None = None,
) -> httpx.Response:
    body = raw if raw is not None else orjson.dumps(payload)
    headers = {"Content-Type": "application/json"}
    if signature is None:
        signature = sign(secret or wa.app_secret, body)
    if signature:
        headers["X-Hub-Signature-256"] = signature
    return await client.post(wa.hook, content=body, headers=headers)


async def deliver(client: httpx.AsyncClient, wa: WaInbox, payload: Any) -> None:
    r = await post_hook(client, wa, payload)
    assert r.status_code == 200, r.text


async def stored(wa: WaInbox) -> list[Message]:
    async with db.sessionmaker()() as session:
        rows = await session.scalars(
            select(Message).where(Message.inbox_id == wa.id).order_by(Message.id)
        )
        return list(rows)


async def conversation_of(wa: WaInbox) -> Conversation:
    async with db.sessionmaker()() as session:
        conv = await session.scalar(select(Conversation).where(Conversation.inbox_id == wa.id))
        assert conv is not None
        return conv


async def agent(client: httpx.AsyncClient, who: str = "agent") -> dict[str, str]:
    return bearer(await staff_token(client, f"{who}@demo.omniline", f"demo-{who.rstrip('2')}"))


async def run_jobs() -> None:
    runner = Runner()
    while await runner.run_due():
        pass


async def message_row(message_id: int) -> Message:
    async with db.sessionmaker()() as session:
        msg = await session.get(Message, message_id)
        assert msg is not None
        return msg
