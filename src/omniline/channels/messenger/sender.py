"""Agent replies to Messenger through the Send API.

A reply may take several sends (each file, long text in pieces). Each part that went out
is noted on the message (meta["messenger"]["sent"]), so a retried job sends only the rest.
Reply buttons become quick replies; buttons with a link become a button template.
"""

from __future__ import annotations

from typing import Any

import httpx
import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.channels._kit import OutboundFile, outbound_files
from omniline.channels.messenger import window
from omniline.channels.messenger.graph import GraphConfig, GraphError, call, config_of
from omniline.conversations.delivery import DeliveryResult, maybe_reached
from omniline.conversations.models import Conversation, Delivery, Message
from omniline.inboxes.models import Inbox
from omniline.kit.http import describe_error

TEXT_LIMIT = 2000
TEMPLATE_TEXT_LIMIT = 640
QUICK_REPLIES_MAX = 13
TEMPLATE_BUTTONS_MAX = 3
TITLE_MAX = 20


def _buttons(meta: dict[str, Any]) -> list[dict[str, Any]]:
    raw = meta.get("buttons") or []
    return [b for b in raw if isinstance(b, dict) and str(b.get("text") or "").strip()]


def quick_replies(buttons: list[dict[str, Any]]) -> list[dict[str, str]]:
    return [
        {
            "content_type": "text",
            "title": str(b["text"]).strip()[:TITLE_MAX],
            "payload": str(b.get("payload") or b["text"])[:1000],
        }
        for b in buttons[:QUICK_REPLIES_MAX]
    ]


def button_template(text: str, buttons: list[dict[str, Any]]) -> dict[str, Any]:
    items = []
    for b in buttons[:TEMPLATE_BUTTONS_MAX]:
        title = str(b["text"]).strip()[:TITLE_MAX]
        if b.get("url"):
            items.append({"type": "web_url", "url": str(b["url"]), "title": title})
        else:
            payload = str(b.get("payload") or b["text"])[:1000]
            items.append({"type": "postback", "title": title, "payload": payload})
    template: dict[str, Any] = {"template_type": "button", "text": text, "buttons": items}
    return {"attachment": {"type": "template", "payload": template}}


def text_parts(text: str, buttons: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The message bodies for the text; buttons ride on the last one."""
    linked = any(b.get("url") for b in buttons)
    size = TEMPLATE_TEXT_LIMIT if linked else TEXT_LIMIT
    chunks = [text[i : i + size] for i in range(0, len(text), size)]
    parts: list[dict[str, Any]] = [{"text": c} for c in chunks]
    if parts and buttons:
        last = chunks[-1]
        parts[-1] = (
            button_template(last, buttons)
            if linked
            else {
                "text": last,
                "quick_replies": quick_replies(buttons),
            }
        )
    return parts


def file_kind(content_type: str) -> str:
    major = content_type.split("/")[0]
    return major if major in ("image", "video", "audio") else "file"


async def _send_text(cfg: GraphConfig, base: dict[str, Any], body: dict[str, Any]) -> str:
    answer = await call(cfg, "POST", "me/messages", json={**base, "message": body})
    return str(answer.get("message_id") or "")


async def _send_file(cfg: GraphConfig, base: dict[str, Any], f: OutboundFile) -> str:
    message = {"attachment": {"type": file_kind(f.content_type), "payload": {"is_reusable": False}}}
    form = {k: v if isinstance(v, str) else orjson.dumps(v).decode() for k, v in base.items()}
    form["message"] = orjson.dumps(message).decode()
    files = {"filedata": (f.filename, f.data, f.content_type)}
    answer = await call(cfg, "POST", "me/messages", data=form, files=files)
    return str(answer.get("message_id") or "")


def _done(message: Message) -> dict[str, str]:
    state = (message.meta or {}).get("messenger")
    sent = state.get("sent") if isinstance(state, dict) else None
    return dict(sent) if isinstance(sent, dict) else {}


def _note(message: Message, done: dict[str, str]) -> None:
    meta = dict(message.meta or {})
    meta["messenger"] = {**(meta.get("messenger") or {}), "sent": dict(done)}
    message.meta = meta


async def _send_all(
    session: AsyncSession, cfg: GraphConfig, message: Message, base: dict[str, Any]
) -> str:
    done = _done(message)
    files = await outbound_files(session, message)
    parts: list[tuple[str, Any]] = [(f"file{i}", f) for i, f in enumerate(files)]
    texts = text_parts(message.text, _buttons(message.meta or {}))
    parts += [(f"text{i}", body) for i, body in enumerate(texts)]
    last = ""
    for key, part in parts:
        if key in done:
            last = done[key]
            continue
        if isinstance(part, OutboundFile):
            last = await _send_file(cfg, base, part)
        else:
            last = await _send_text(cfg, base, part)
        done[key] = last
        _note(message, done)
    return last


async def send(
    session: AsyncSession, message: Message, conversation: Conversation, inbox: Inbox
) -> DeliveryResult:
    psid = conversation.contact_address or ""
    if not psid:
        return DeliveryResult(
            Delivery.failed, error="no Messenger user to reply to", permanent=True
        )
    fields = await window.reply_window(session, conversation, inbox)
    if isinstance(fields, str):
        return DeliveryResult(Delivery.failed, error=fields, permanent=True)
    cfg = config_of(inbox.settings or {})
    base = {"recipient": {"id": psid}, **fields}
    try:
        mid = await _send_all(session, cfg, message, base)
    except GraphError as exc:
        return DeliveryResult(
            Delivery.failed, error=exc.reason, permanent=exc.permanent, retry_after=exc.retry_after
        )
    except httpx.HTTPError as exc:
        error = f"Facebook: {describe_error(exc)}"
        return DeliveryResult(Delivery.failed, error=error, maybe_reached=maybe_reached(exc))
    return DeliveryResult(Delivery.sent, external_id=mid or None)
