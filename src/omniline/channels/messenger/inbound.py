"""A Messenger webhook body (object "page") as customer messages and status reports."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from omniline.channels._kit import WebhookInbox
from omniline.conversations.inbound import InboundMessage, MediaRef
from omniline.errors import BadRequest

TEXT_MAX = 10_000
MEDIA_TYPES = frozenset({"image", "video", "audio", "file"})


@dataclass(slots=True)
class StatusReport:
    """``delivery`` names message ids (or only a watermark); ``read`` has a watermark."""

    psid: str
    status: str  # "delivered" | "read"
    mids: list[str] = field(default_factory=list)
    watermark_ms: int | None = None


@dataclass(slots=True)
class Parsed:
    messages: list[InboundMessage] = field(default_factory=list)
    statuses: list[StatusReport] = field(default_factory=list)


def parse(inbox: WebhookInbox, body: Any) -> Parsed:
    out = Parsed()
    if not isinstance(body, dict):
        raise BadRequest("the body is not a JSON object")
    if body.get("object") != "page":
        return out  # another product's webhook (Instagram, WhatsApp): not ours
    entries = body.get("entry")
    if not isinstance(entries, list):
        raise BadRequest("a page event has an entry list")
    for entry in entries:
        if not isinstance(entry, dict):
            raise BadRequest("each entry is an object")
        events = entry.get("messaging", [])  # "standby" (handover) events are not ours
        if not isinstance(events, list):
            raise BadRequest("the messaging field is a list")
        for event in events:
            _event(inbox, event, out)
    return out


def _psid(event: Any) -> str:
    sender = event.get("sender") if isinstance(event, dict) else None
    psid = sender.get("id") if isinstance(sender, dict) else None
    if not isinstance(psid, str | int) or not str(psid).strip():
        raise BadRequest("the event has no sender id")
    return str(psid)


def _event(inbox: WebhookInbox, event: Any, out: Parsed) -> None:
    psid = _psid(event)
    if isinstance(event.get("message"), dict):
        if not event["message"].get("is_echo"):  # our own page's messages come back as echoes
            out.messages.append(_message(inbox, psid, event["message"]))
    elif isinstance(event.get("postback"), dict):
        out.messages.append(_postback(inbox, psid, event))
    elif isinstance(event.get("delivery"), dict):
        d = event["delivery"]
        raw = d.get("mids")
        mids = [m for m in raw if isinstance(m, str)] if isinstance(raw, list) else []
        out.statuses.append(StatusReport(psid, "delivered", mids, _watermark(d)))
    elif isinstance(event.get("read"), dict):
        out.statuses.append(StatusReport(psid, "read", [], _watermark(event["read"])))


def _watermark(obj: dict[str, Any]) -> int | None:
    w = obj.get("watermark")
    return w if isinstance(w, int) and not isinstance(w, bool) else None


def _new(inbox: WebhookInbox, psid: str, mid: str, text: str, **kw: Any) -> InboundMessage:
    return InboundMessage(
        workspace_id=inbox.workspace_id,
        inbox_id=inbox.id,
        text=text[:TEXT_MAX],
        external_id=mid[:200],
        sender_address=psid,
        **kw,
    )


def _message(inbox: WebhookInbox, psid: str, msg: dict[str, Any]) -> InboundMessage:
    mid, text = msg.get("mid"), msg.get("text") or ""
    if not isinstance(mid, str) or not mid or not isinstance(text, str):
        raise BadRequest("the message has no mid or a text that is not a string")
    media, other = _attachments(msg.get("attachments"))
    meta: dict[str, Any] = {}
    quick = msg.get("quick_reply")
    if isinstance(quick, dict) and isinstance(quick.get("payload"), str):
        meta["button_payload"] = quick["payload"][:1000]
    if other:
        meta["messenger"] = {"unsupported": other}
    return _new(inbox, psid, mid, text, media=media, meta=meta)


def _postback(inbox: WebhookInbox, psid: str, event: dict[str, Any]) -> InboundMessage:
    pb = event["postback"]
    title, payload = pb.get("title"), pb.get("payload")
    mid = pb.get("mid") or f"postback:{psid}:{event.get('timestamp')}"
    meta = {"button_payload": payload[:1000]} if isinstance(payload, str) else {}
    return _new(inbox, psid, str(mid), title if isinstance(title, str) else "", meta=meta)


def _attachments(items: Any) -> tuple[list[MediaRef], list[str]]:
    media: list[MediaRef] = []
    other: list[str] = []
    for item in items if isinstance(items, list) else []:
        kind = item.get("type") if isinstance(item, dict) else None
        payload = item.get("payload") if isinstance(item, dict) else None
        url = payload.get("url") if isinstance(payload, dict) else None
        if kind in MEDIA_TYPES and isinstance(url, str):
            media.append(MediaRef({"url": url}))
        elif isinstance(kind, str):
            other.append(kind[:40])
    return media, other
