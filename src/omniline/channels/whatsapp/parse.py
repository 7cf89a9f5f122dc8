"""A webhook payload -> customer messages and delivery statuses.

The whole payload is read before anything is stored: a malformed part rejects all of it.
Kinds we do not handle (reactions, orders, system notices) are skipped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from omniline.channels.whatsapp.graph import describe
from omniline.conversations.inbound import InboundMessage, MediaRef
from omniline.conversations.models import Delivery

MEDIA_KINDS = ("image", "document", "audio", "video", "sticker")
STATUSES = {s.value: s for s in (Delivery.sent, Delivery.delivered, Delivery.read, Delivery.failed)}


class Malformed(ValueError):
    """The payload does not have the documented shape."""


@dataclass(frozen=True, slots=True)
class Target:
    """The inbox a webhook is for."""

    inbox_id: int
    workspace_id: int
    phone_number_id: str


@dataclass(slots=True)
class StatusReport:
    external_id: str
    status: Delivery
    error: str | None = None


@dataclass(slots=True)
class Parsed:
    messages: list[InboundMessage] = field(default_factory=list)
    statuses: list[StatusReport] = field(default_factory=list)


Body = tuple[str, dict[str, Any], list[MediaRef]]


def _dicts(obj: dict[str, Any], key: str) -> list[dict[str, Any]]:
    items = obj.get(key)
    if items is None:
        return []
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise Malformed(f"{key} must be a list of objects")
    return items


def _obj(obj: dict[str, Any], key: str) -> dict[str, Any]:
    value = obj.get(key)
    if not isinstance(value, dict):
        raise Malformed(f"{key} must be an object")
    return value


def _str(obj: dict[str, Any], key: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value:
        raise Malformed(f"{key} must be a non-empty string")
    return value


def parse(data: Any, target: Target) -> Parsed:
    if not isinstance(data, dict):
        raise Malformed("the payload must be a JSON object")
    out = Parsed()
    if data.get("object") != "whatsapp_business_account":
        return out
    for entry in _dicts(data, "entry"):
        for change in _dicts(entry, "changes"):
            if change.get("field") != "messages":
                continue
            value = _obj(change, "value")
            metadata = value.get("metadata") if isinstance(value.get("metadata"), dict) else {}
            number = str((metadata or {}).get("phone_number_id") or "")
            if number and target.phone_number_id and number != target.phone_number_id:
                continue  # another number of the same Meta app: not this inbox's
            _read_value(value, target, out)
    return out


def _read_value(value: dict[str, Any], target: Target, out: Parsed) -> None:
    names = {}
    for contact in _dicts(value, "contacts"):
        profile = contact.get("profile") if isinstance(contact.get("profile"), dict) else {}
        name = str((profile or {}).get("name") or contact.get("username") or "")
        for key in ("wa_id", "user_id"):
            if isinstance(contact.get(key), str):
                names[contact[key]] = name
    for raw in _dicts(value, "messages"):
        msg = _message(raw, target, names)
        if msg is not None:
            out.messages.append(msg)
    for raw in _dicts(value, "statuses"):
        report = _status(raw)
        if report is not None:
            out.statuses.append(report)


def _sender(raw: dict[str, Any]) -> str:
    """The phone-based wa_id; a business-scoped user id when the customer hides the number."""
    for key in ("from", "from_user_id"):
        if isinstance(raw.get(key), str) and raw[key]:
            return str(raw[key])
    raise Malformed("a message needs 'from'")


def _received_at(raw: dict[str, Any]) -> datetime | None:
    ts = raw.get("timestamp")
    if not isinstance(ts, str | int) or not str(ts).isdigit():
        return None
    at = datetime.fromtimestamp(int(ts), UTC)
    return min(at, datetime.now(UTC))  # never in the future, whatever the clocks say


def _message(raw: dict[str, Any], target: Target, names: dict[str, str]) -> InboundMessage | None:
    wamid, kind, sender = _str(raw, "id"), _str(raw, "type"), _sender(raw)
    reader = READERS.get(kind)
    if reader is None:
        return None
    body = reader(raw, kind)
    if body is None:
        return None
    text, meta, media = body
    return InboundMessage(
        workspace_id=target.workspace_id,
        inbox_id=target.inbox_id,
        text=text,
        external_id=wamid,
        sender_address=sender,
        sender_name=names.get(sender) or None,
        received_at=_received_at(raw),
        meta=meta,
        media=media,
        contact_phone=f"+{sender}" if sender.isdigit() else None,
    )


def _text(raw: dict[str, Any], kind: str) -> Body:
    return _str(_obj(raw, "text"), "body"), {}, []


def _media(raw: dict[str, Any], kind: str) -> Body:
    part = _obj(raw, kind)
    ref = MediaRef(
        ref={"media_id": _str(part, "id"), "kind": kind},
        filename=str(part["filename"]) if isinstance(part.get("filename"), str) else None,
        content_type=str(part.get("mime_type") or "") or None,
    )
    return str(part.get("caption") or ""), {}, [ref]


def _interactive(raw: dict[str, Any], kind: str) -> Body | None:
    part = _obj(raw, "interactive")
    sub = str(part.get("type") or "")
    if sub not in ("button_reply", "list_reply"):
        return None  # a flow reply or another kind we do not handle
    reply = _obj(part, sub)
    return _str(reply, "title"), {"button_payload": str(reply.get("id") or "")}, []


def _button(raw: dict[str, Any], kind: str) -> Body:
    part = _obj(raw, "button")
    text = _str(part, "text")
    return text, {"button_payload": str(part.get("payload") or text)}, []


def _location(raw: dict[str, Any], kind: str) -> Body:
    loc = _obj(raw, "location")
    lat, lon = loc.get("latitude"), loc.get("longitude")
    if not isinstance(lat, int | float) or not isinstance(lon, int | float):
        raise Malformed("a location needs latitude and longitude")
    label = ", ".join(str(loc[k]) for k in ("name", "address") if loc.get(k))
    where = f"{lat:.6f}, {lon:.6f}"
    maps = f"https://maps.google.com/?q={lat:.6f},{lon:.6f}"
    text = f"Location: {label} ({where}) {maps}" if label else f"Location: {where} {maps}"
    return text, {}, []


def _contacts(raw: dict[str, Any], kind: str) -> Body:
    lines = []
    for card in _dicts(raw, "contacts"):
        name = card.get("name") if isinstance(card.get("name"), dict) else {}
        parts = [str((name or {}).get("formatted_name") or "")]
        parts += [str(p.get("phone") or "") for p in _dicts(card, "phones")]
        parts += [str(e.get("email") or "") for e in _dicts(card, "emails")]
        lines.append("Contact: " + ", ".join(p for p in parts if p))
    return "\n".join(lines), {}, []


READERS: dict[str, Callable[[dict[str, Any], str], Body | None]] = {
    "text": _text,
    "interactive": _interactive,
    "button": _button,
    "location": _location,
    "contacts": _contacts,
    **dict.fromkeys(MEDIA_KINDS, _media),
}


def _status(raw: dict[str, Any]) -> StatusReport | None:
    status = STATUSES.get(str(raw.get("status") or ""))
    if status is None:
        return None
    error = None
    if status == Delivery.failed:
        errors = _dicts(raw, "errors")
        first = errors[0] if errors else {}
        data = first.get("error_data") if isinstance(first.get("error_data"), dict) else {}
        message = str(first.get("message") or first.get("title") or "not delivered")
        code = first.get("code") if isinstance(first.get("code"), int) else None
        error = describe(code, message, str((data or {}).get("details") or ""))
    return StatusReport(_str(raw, "id"), status, error)
