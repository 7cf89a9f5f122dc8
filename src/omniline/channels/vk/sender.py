"""Agent replies to VK: messages.send with keyboard and attachments.

Every part carries a ``random_id`` derived from the message id: VK drops a second send
with the same ``random_id``, so a retried job never shows the customer a reply twice.
"""

from __future__ import annotations

import hashlib
from typing import Any

import httpx
import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.channels._kit import OutboundFile, outbound_files
from omniline.channels.vk.client import VkConfig, VkError, call, config_of, post_file
from omniline.conversations.delivery import DeliveryResult
from omniline.conversations.models import Conversation, Delivery, Message
from omniline.inboxes.models import Inbox
from omniline.kit.http import describe_error

TEXT_LIMIT = 4096
PHOTO_TYPES = frozenset({"image/jpeg", "image/png", "image/gif"})
LABEL_MAX = 40
PAYLOAD_MAX = 200  # VK allows 255 characters of JSON


def random_id(message_id: int, part: int = 0) -> int:
    """A stable, non-zero int32 for one part of one message."""
    digest = hashlib.sha256(f"omniline:{message_id}:{part}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF or 1


def keyboard(buttons: Any) -> dict[str, Any] | None:
    """meta["buttons"] as a VK keyboard: one button a row; links need an inline keyboard."""
    items = [b for b in buttons or [] if isinstance(b, dict) and str(b.get("text") or "").strip()]
    if not items:
        return None
    inline = any(b.get("url") for b in items)
    rows: list[list[dict[str, Any]]] = []
    for b in items[: 6 if inline else 10]:
        label = str(b["text"]).strip()[:LABEL_MAX]
        if b.get("url"):
            rows.append([{"action": {"type": "open_link", "link": str(b["url"]), "label": label}}])
            continue
        payload = str(b.get("payload") or b["text"])[:PAYLOAD_MAX]
        action: dict[str, Any] = {"type": "text", "label": label}
        action["payload"] = _json({"payload": payload})
        rows.append([{"action": action, "color": "secondary"}])
    return {"one_time": not inline, "inline": inline, "buttons": rows}


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


def _chunks(text: str) -> list[str]:
    return [text[i : i + TEXT_LIMIT] for i in range(0, len(text), TEXT_LIMIT)] or [""]


async def upload(cfg: VkConfig, peer_id: int, f: OutboundFile) -> str:
    """The file as an attachment string: photo<owner>_<id> or doc<owner>_<id>."""
    if f.content_type in PHOTO_TYPES:
        server = await call(cfg, "photos.getMessagesUploadServer", {"peer_id": peer_id})
        up = await post_file(server["upload_url"], "photo", f.filename, f.content_type, f.data)
        fields = {k: up[k] for k in ("photo", "server", "hash")}
        saved = (await call(cfg, "photos.saveMessagesPhoto", fields))[0]
        key = f"_{saved['access_key']}" if saved.get("access_key") else ""
        return f"photo{saved['owner_id']}_{saved['id']}{key}"
    server = await call(cfg, "docs.getMessagesUploadServer", {"peer_id": peer_id, "type": "doc"})
    up = await post_file(server["upload_url"], "file", f.filename, f.content_type, f.data)
    doc = (await call(cfg, "docs.save", {"file": up["file"], "title": f.filename}))["doc"]
    return f"doc{doc['owner_id']}_{doc['id']}"


def _sent_id(response: Any) -> str:
    if isinstance(response, list) and response and isinstance(response[0], dict):
        return str(response[0].get("message_id"))
    return str(response)


async def _send_parts(session: AsyncSession, cfg: VkConfig, message: Message, peer_id: int) -> str:
    files = await outbound_files(session, message)
    attachment = ",".join([await upload(cfg, peer_id, f) for f in files])
    parts = _chunks(message.text)
    sent = ""
    for i, text in enumerate(parts):
        params: dict[str, Any] = {"peer_id": peer_id, "random_id": random_id(message.id, i)}
        params["message"] = text
        if i == len(parts) - 1:
            board = keyboard((message.meta or {}).get("buttons"))
            if board:
                params["keyboard"] = _json(board)
            if attachment:
                params["attachment"] = attachment
        sent = _sent_id(await call(cfg, "messages.send", params))
    return f"out:{peer_id}:{sent}"


async def send(
    session: AsyncSession, message: Message, conversation: Conversation, inbox: Inbox
) -> DeliveryResult:
    address = conversation.contact_address or ""
    if not address.lstrip("-").isdigit():
        return DeliveryResult(
            Delivery.failed, error="no VK conversation to reply to", permanent=True
        )
    cfg = config_of(inbox.settings or {})
    try:
        external = await _send_parts(session, cfg, message, int(address))
    except VkError as exc:
        return DeliveryResult(
            Delivery.failed, error=exc.reason, permanent=exc.permanent, retry_after=exc.retry_after
        )
    except (httpx.HTTPError, KeyError, IndexError, TypeError) as exc:
        error = describe_error(exc) if isinstance(exc, httpx.HTTPError) else f"odd answer: {exc}"
        return DeliveryResult(Delivery.failed, error=f"VK: {error}")
    return DeliveryResult(Delivery.sent, external_id=external)
