"""A VK ``message_new`` event as an InboundMessage (Callback API, objects of API 5.103+)."""

from __future__ import annotations

import mimetypes
from typing import Any

import orjson

from omniline.channels._kit import WebhookInbox
from omniline.conversations.inbound import InboundMessage, MediaRef
from omniline.errors import BadRequest

TEXT_MAX = 10_000


def _int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequest(f"the VK message has no valid {name}")
    return value


def message_of(obj: Any) -> dict[str, Any]:
    """Since API 5.103 the message sits in ``object.message``; before, it was the object."""
    if not isinstance(obj, dict):
        raise BadRequest("the VK event has no object")
    msg = obj.get("message", obj)
    if not isinstance(msg, dict):
        raise BadRequest("the VK event has no message")
    return msg


def parse_message(inbox: WebhookInbox, obj: Any) -> InboundMessage:
    msg = message_of(obj)
    peer_id = _int(msg.get("peer_id"), "peer_id")
    local_id = msg.get("conversation_message_id") or msg.get("id")
    _int(local_id, "id")
    text = msg.get("text") or ""
    if not isinstance(text, str):
        raise BadRequest("the VK message text is not a string")
    media, other = _attachments(msg.get("attachments"))
    meta: dict[str, Any] = {}
    payload = button_payload(msg.get("payload"))
    if payload is not None:
        meta["button_payload"] = payload
    if other:
        meta["vk"] = {"unsupported": other}
    return InboundMessage(
        workspace_id=inbox.workspace_id,
        inbox_id=inbox.id,
        text=text[:TEXT_MAX],
        external_id=f"{peer_id}:{local_id}",
        sender_address=str(peer_id),
        media=media,
        meta=meta,
    )


def button_payload(raw: Any) -> str | None:
    """Our own keyboard sends ``{"payload": "..."}``; any other payload is kept as sent."""
    if not isinstance(raw, str) or not raw:
        return None
    try:
        parsed = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return raw[:1000]
    if isinstance(parsed, dict) and isinstance(parsed.get("payload"), str):
        return str(parsed["payload"])[:1000]
    return raw[:1000]


def _attachments(items: Any) -> tuple[list[MediaRef], list[str]]:
    media: list[MediaRef] = []
    other: list[str] = []
    for item in items if isinstance(items, list) else []:
        kind = item.get("type") if isinstance(item, dict) else None
        body = item.get(kind) if isinstance(kind, str) else None
        ref = _media(kind, body) if isinstance(body, dict) else None
        if ref is not None:
            media.append(ref)
        elif isinstance(kind, str):
            other.append(kind[:40])
    return media, other


def _media(kind: Any, body: dict[str, Any]) -> MediaRef | None:
    if kind == "photo":
        url = _largest(body.get("sizes"))
        name = f"photo_{body.get('owner_id')}_{body.get('id')}.jpg"
        return MediaRef({"url": url}, name, "image/jpeg") if url else None
    if kind == "doc" and isinstance(body.get("url"), str):
        name = str(body.get("title") or "document")
        ext = str(body.get("ext") or "")
        if ext and not name.lower().endswith(f".{ext.lower()}"):
            name = f"{name}.{ext}"
        size = body.get("size") if isinstance(body.get("size"), int) else None
        return MediaRef({"url": body["url"]}, name, mimetypes.guess_type(name)[0], size)
    if kind == "audio_message" and isinstance(body.get("link_mp3"), str):
        return MediaRef({"url": body["link_mp3"]}, "voice.mp3", "audio/mpeg")
    return None


def _largest(sizes: Any) -> str | None:
    """The biggest picture; on a tie the later one (older objects list sizes ascending)."""
    best: tuple[int, str] | None = None
    for size in sizes if isinstance(sizes, list) else []:
        if not isinstance(size, dict) or not isinstance(size.get("url"), str):
            continue
        width, height = size.get("width"), size.get("height")
        area = width * height if isinstance(width, int) and isinstance(height, int) else 0
        if best is None or area >= best[0]:
            best = (area, size["url"])
    return best[1] if best else None
