"""Agent replies to WhatsApp: POST /{phone_number_id}/messages with the inbox's token.

A reply becomes one WhatsApp message when it can (a file with the text as its caption);
otherwise several parts go out in order, and the ids of parts already sent are kept on the
message so a retry does not send them twice.

Buttons: up to 3 reply buttons with titles of at most 20 characters become WhatsApp reply
buttons; up to 10 with titles of at most 24 characters become a list; anything else is
written as numbered lines under the text (the customer answers by typing). Link buttons
are added to the text as "label: URL" lines.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from omniline.channels.whatsapp import graph, templates
from omniline.channels.whatsapp.graph import N_
from omniline.config import get_settings
from omniline.conversations import attachments, repository
from omniline.conversations.delivery import DeliveryResult, maybe_reached
from omniline.conversations.models import Attachment, Conversation, Delivery, Message
from omniline.inboxes.models import Inbox
from omniline.web.i18n import gettext

TEXT_MAX = 4096
CAPTION_MAX = 1024
INTERACTIVE_BODY_MAX = 1024
BUTTON_TITLE_MAX, MAX_REPLY_BUTTONS = 20, 3
ROW_TITLE_MAX, MAX_LIST_ROWS = 24, 10
ID_MAX = 200
MB = 1024 * 1024
INLINE_KINDS = {  # content types WhatsApp shows inline, and their size limits
    "image/jpeg": ("image", 5 * MB),
    "image/png": ("image", 5 * MB),
    "video/mp4": ("video", 16 * MB),
    "video/3gpp": ("video", 16 * MB),
}
CHOOSE = N_("Choose")  # the label of the button that opens a list of options


@dataclass(slots=True)
class Part:
    body: dict[str, Any]  # the message object without messaging_product and recipient
    attachment: Attachment | None = None  # uploaded first; its media id goes into the body


def _recipient(address: str) -> dict[str, str]:
    # A wa_id is all digits; a business-scoped user id (a customer hiding the number) is not.
    return {"to": address} if address.isdigit() else {"recipient": address}


def _chunks(text: str) -> list[str]:
    return [text[i : i + TEXT_MAX] for i in range(0, len(text), TEXT_MAX)] or [""]


def _text_parts(text: str, preview: bool = False) -> list[Part]:
    return [
        Part({"type": "text", "text": {"body": chunk, "preview_url": preview}})
        for chunk in _chunks(text)
    ]


def _ids(buttons: list[dict[str, Any]]) -> list[str]:
    out: list[str] = []
    for i, b in enumerate(buttons):
        base = str(b.get("payload") or b.get("text") or i)[:ID_MAX]
        out.append(base if base not in out else f"{base[: ID_MAX - 4]}#{i}")
    return out


def _button_parts(text: str, reply: list[dict[str, Any]], locale: str) -> list[Part]:
    titles = [str(b.get("text") or "") for b in reply]
    body = {"text": text or "\U0001f447"}  # WhatsApp needs a body; a pointing hand says it
    ids = _ids(reply)
    if len(text) <= INTERACTIVE_BODY_MAX:
        if len(reply) <= MAX_REPLY_BUTTONS and all(len(t) <= BUTTON_TITLE_MAX for t in titles):
            buttons = [
                {"type": "reply", "reply": {"id": i, "title": t}}
                for i, t in zip(ids, titles, strict=True)
            ]
            action: dict[str, Any] = {"buttons": buttons}
            return [_interactive("button", body, action)]
        if len(reply) <= MAX_LIST_ROWS and all(len(t) <= ROW_TITLE_MAX for t in titles):
            rows = [{"id": i, "title": t} for i, t in zip(ids, titles, strict=True)]
            label = gettext(locale, CHOOSE)[:BUTTON_TITLE_MAX]
            action = {"button": label, "sections": [{"title": label, "rows": rows}]}
            return [_interactive("list", body, action)]
    lines = "\n".join(f"{n}. {t}" for n, t in enumerate(titles, start=1))
    return _text_parts(f"{text}\n\n{lines}" if text else lines)


def _interactive(kind: str, body: dict[str, str], action: dict[str, Any]) -> Part:
    return Part(
        {"type": "interactive", "interactive": {"type": kind, "body": body, "action": action}}
    )


def _file_part(att: Attachment, caption: str = "") -> Part:
    kind, limit = INLINE_KINDS.get(att.content_type, ("document", 0))
    if kind != "document" and att.size > limit:
        kind = "document"
    obj: dict[str, Any] = {"caption": caption} if caption else {}
    if kind == "document":
        obj["filename"] = att.filename
    return Part({"type": kind, kind: obj}, attachment=att)


def _template_part(inbox: Inbox, spec: dict[str, Any]) -> Part:
    name, language = str(spec.get("name") or ""), str(spec.get("language") or "")
    params = [str(p) for p in spec.get("params") or []]
    known = templates.find(inbox, name, language) or {"name": name, "language": language}
    return Part({"type": "template", "template": templates.payload(known, params)})


def plan(message: Message, atts: list[Attachment], inbox: Inbox, locale: str) -> list[Part]:
    """The WhatsApp messages one reply becomes, in sending order."""
    meta = message.meta or {}
    if meta.get("template"):
        return [_template_part(inbox, meta["template"])]
    text = message.text or ""
    buttons = [b for b in meta.get("buttons") or [] if isinstance(b, dict)]
    if len(atts) == 1 and text and not buttons and len(text) <= CAPTION_MAX:
        return [_file_part(atts[0], caption=text)]
    reply = [b for b in buttons if not b.get("url")]
    links = [f"{b.get('text') or b['url']}: {b['url']}" for b in buttons if b.get("url")]
    if links:
        text = "\n\n".join(p for p in (text, "\n".join(links)) if p)
    parts: list[Part] = []
    if reply:
        parts += _button_parts(text, reply, locale)
    elif text:
        parts += _text_parts(text, preview=bool(links))
    return parts + [_file_part(a) for a in atts]


async def _upload(cfg: graph.Config, att: Attachment) -> str:
    path = attachments.path_of(get_settings(), att.storage_key)
    data = await asyncio.to_thread(path.read_bytes)
    answer = await graph.call(
        cfg,
        "POST",
        f"{cfg.phone_number_id}/media",
        data={"messaging_product": "whatsapp", "type": att.content_type},
        files={"file": (att.filename, data, att.content_type)},
    )
    if not answer.get("id"):
        raise graph.GraphError(502, "the Graph API answered the upload without a media id")
    return str(answer["id"])


async def _send_part(cfg: graph.Config, address: str, part: Part) -> str:
    body: dict[str, Any] = {"messaging_product": "whatsapp", "recipient_type": "individual"}
    body.update(_recipient(address))
    body.update(part.body)
    if part.attachment is not None:
        kind = str(part.body["type"])
        body[kind] = {**part.body[kind], "id": await _upload(cfg, part.attachment)}
    answer = await graph.call(cfg, "POST", f"{cfg.phone_number_id}/messages", json=body)
    sent = answer.get("messages")
    if not isinstance(sent, list) or not sent or not isinstance(sent[0], dict):
        raise graph.GraphError(502, "the Graph API answered without a message id")
    return str(sent[0].get("id") or "")


def _failed(exc: graph.GraphError, external_id: str | None) -> DeliveryResult:
    if exc.rate_limited:
        wait = exc.wait_seconds()
        return DeliveryResult(Delivery.failed, external_id, exc.message, retry_after=wait)
    cause = exc.__cause__  # the network error of graph.call, if that was it
    reached = cause is not None and maybe_reached(cause)
    return DeliveryResult(
        Delivery.failed,
        external_id,
        exc.message,
        permanent=not exc.passing,
        maybe_reached=reached,
    )


async def send(
    session: AsyncSession, message: Message, conversation: Conversation, inbox: Inbox
) -> DeliveryResult:
    address = conversation.contact_address or ""
    if not address:
        error = "the conversation has no WhatsApp number to reply to"
        return DeliveryResult(Delivery.failed, error=error, permanent=True)
    atts = (await repository.attachments_for(session, [message.id])).get(message.id, [])
    locale = conversation.language or get_settings().default_locale
    parts = plan(message, atts, inbox, locale)
    cfg = graph.config_of(inbox)
    done = list(((message.meta or {}).get("whatsapp") or {}).get("sent") or [])
    try:
        for part in parts[len(done) :]:
            done.append(await _send_part(cfg, address, part))
    except graph.GraphError as exc:
        return _failed(exc, done[0] if done else None)
    finally:
        if len(parts) > 1:
            message.meta = {**(message.meta or {}), "whatsapp": {"sent": done}}
    return DeliveryResult(Delivery.sent, done[0] if done else None)
