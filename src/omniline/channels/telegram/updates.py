"""Turning a Telegram update into the core's InboundMessage (no I/O here).

Handled: private-chat messages (text, caption, photo, files, voice, video, sticker emoji,
a shared contact), their edits, and inline-button presses. Anything else is ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from omniline.config import get_settings
from omniline.contacts.phones import normalize_phone
from omniline.conversations.inbound import InboundMessage, MediaRef
from omniline.web.i18n import gettext

# Kinds of files a message may carry: (field, default name, default type).
FILE_KINDS = (
    ("document", "document", "application/octet-stream"),
    ("video", "video.mp4", "video/mp4"),
    ("animation", "animation.mp4", "video/mp4"),
    ("audio", "audio.mp3", "audio/mpeg"),
    ("voice", "voice.ogg", "audio/ogg"),
    ("video_note", "video_note.mp4", "video/mp4"),
)


def N_(message: str) -> str:
    return message


# Stored as the message text, in the installation's language.
SHARED_CONTACT = N_("Shared contact: %(phone)s")


class Malformed(ValueError):
    """The update does not have the documented shape."""


@dataclass(slots=True)
class Parsed:
    item: InboundMessage
    callback_id: str | None = None


def _dict(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise Malformed(f"{what} must be an object")
    return value


def _int(value: Any, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise Malformed(f"{what} must be an integer")
    return value


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def sender_name(user: dict[str, Any]) -> str | None:
    name = " ".join(p for p in (_str(user.get("first_name")), _str(user.get("last_name"))) if p)
    username = _str(user.get("username"))
    return name or (f"@{username}" if username else None)


def parse(update: Any, workspace_id: int, inbox_id: int) -> Parsed | None:
    """The inbound message of one update, None for updates Omniline does not handle."""
    update = _dict(update, "the update")
    _int(update.get("update_id"), "update_id")
    if "message" in update:
        return _message(_dict(update["message"], "message"), workspace_id, inbox_id, edited=False)
    if "edited_message" in update:
        msg = _dict(update["edited_message"], "edited_message")
        return _message(msg, workspace_id, inbox_id, edited=True)
    if "callback_query" in update:
        return _callback(_dict(update["callback_query"], "callback_query"), workspace_id, inbox_id)
    return None


def _chat(msg: dict[str, Any]) -> tuple[int, bool]:
    chat = _dict(msg.get("chat"), "message.chat")
    return _int(chat.get("id"), "message.chat.id"), chat.get("type") == "private"


def _message(
    msg: dict[str, Any], workspace_id: int, inbox_id: int, *, edited: bool
) -> Parsed | None:
    chat_id, private = _chat(msg)
    message_id = _int(msg.get("message_id"), "message.message_id")
    if not private:
        return None  # groups and channels are not supported
    user = _object(msg.get("from"))
    text = _str(msg.get("text")) or _str(msg.get("caption"))
    media = _media(msg, message_id)
    meta: dict[str, Any] = {}
    phone = None
    contact = msg.get("contact")
    if isinstance(contact, dict) and _str(contact.get("phone_number")):
        shared, phone = _contact(contact, user)
        text = f"{text}\n{shared}".strip()
    if not text and isinstance(msg.get("sticker"), dict):
        text = _str(msg["sticker"].get("emoji"))
    if not text and not media:
        return None  # a location, a poll, a game...: nothing an agent could read
    external_id = f"{chat_id}:{message_id}"
    if edited:
        edit_date = msg.get("edit_date") if isinstance(msg.get("edit_date"), int) else 0
        external_id = f"{external_id}:edit:{edit_date}"
        meta["telegram"] = {"edited": True, "message_id": message_id}
    return Parsed(
        InboundMessage(
            workspace_id=workspace_id,
            inbox_id=inbox_id,
            text=text,
            external_id=external_id,
            sender_address=str(chat_id),
            sender_name=sender_name(user),
            received_at=_when(msg.get("date")),
            meta=meta,
            media=media,
            contact_phone=phone,
        )
    )


def _when(value: Any) -> datetime | None:
    return datetime.fromtimestamp(value, UTC) if isinstance(value, int) and value > 0 else None


def _contact(contact: dict[str, Any], user: dict[str, Any]) -> tuple[str, str | None]:
    """The text an agent reads, and the phone when the customer shared their own number."""
    raw = _str(contact.get("phone_number"))
    number = normalize_phone(raw) or raw
    name = sender_name(contact)
    shared = gettext(get_settings().default_locale, SHARED_CONTACT) % {"phone": number}
    shared += f" ({name})" if name else ""
    own = contact.get("user_id") is not None and contact.get("user_id") == user.get("id")
    return shared, number if own else None


def _media(msg: dict[str, Any], message_id: int) -> list[MediaRef]:
    out: list[MediaRef] = []
    photos = msg.get("photo")
    if isinstance(photos, list) and photos:
        sizes = [p for p in photos if isinstance(p, dict) and _str(p.get("file_id"))]
        if sizes:
            best = max(
                sizes, key=lambda p: (p.get("width", 0) * p.get("height", 0), p.get("file_size", 0))
            )
            out.append(_ref(best, f"photo_{message_id}.jpg", "image/jpeg"))
    for field, name, ctype in FILE_KINDS:
        item = msg.get(field)
        if isinstance(item, dict) and _str(item.get("file_id")):
            out.append(
                _ref(
                    item, _str(item.get("file_name")) or name, _str(item.get("mime_type")) or ctype
                )
            )
    return out


def _ref(item: dict[str, Any], filename: str, content_type: str) -> MediaRef:
    size = item.get("file_size")
    return MediaRef(
        ref={"file_id": item["file_id"]},
        filename=filename,
        content_type=content_type,
        size=size if isinstance(size, int) else None,
    )


def _callback(cb: dict[str, Any], workspace_id: int, inbox_id: int) -> Parsed | None:
    callback_id = _str(cb.get("id"))
    if not callback_id:
        raise Malformed("callback_query.id must be a string")
    msg = cb.get("message")
    data = _str(cb.get("data"))
    if not isinstance(msg, dict) or not data:
        return None  # a button of an inline-mode message or a game: not ours
    chat_id, private = _chat(msg)
    if not private:
        return None
    user = _object(cb.get("from"))
    return Parsed(
        InboundMessage(
            workspace_id=workspace_id,
            inbox_id=inbox_id,
            text=button_text(msg, data) or data,
            external_id=f"cb:{callback_id}",
            sender_address=str(chat_id),
            sender_name=sender_name(user),
            meta={"button_payload": data},
        ),
        callback_id=callback_id,
    )


def button_text(msg: dict[str, Any], data: str) -> str | None:
    """The label of the pressed button, read from the keyboard of the message it was on."""
    markup = msg.get("reply_markup")
    rows = markup.get("inline_keyboard") if isinstance(markup, dict) else None
    for row in rows if isinstance(rows, list) else []:
        for button in row if isinstance(row, list) else []:
            if isinstance(button, dict) and button.get("callback_data") == data:
                return _str(button.get("text")) or None
    return None
