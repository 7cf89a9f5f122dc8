"""Outbound: an agent's reply as Telegram messages (text, buttons, files).

A reply may take several Telegram messages (text over 4,096 characters, each file);
the ids already sent are kept in ``meta["telegram"]["sent"]`` so a retry after a
failure in the middle does not send the first parts twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.channels._kit import OutboundFile, outbound_files
from omniline.channels.telegram.client import (
    CALLBACK_DATA_MAX_BYTES,
    TEXT_MAX_CHARS,
    TelegramError,
    api_base_of,
    call,
    pace,
)
from omniline.conversations.delivery import DeliveryResult, maybe_reached
from omniline.conversations.models import Conversation, Delivery, Message
from omniline.db import after_commit
from omniline.inboxes.models import Inbox
from omniline.kit.http import describe_error

PHOTO_TYPES = ("image/jpeg", "image/png")
# Parts Telegram took whose ids are not committed yet (message id -> Telegram ids). When the
# database goes away between Telegram's answer and the commit, the job runs again once it is
# back, usually in this same process: it then sends only what is left, not the reply twice
# (bench/faults.py). Entries leave at the commit; only uncommitted sends stay.
_unrecorded: dict[int, list[int]] = {}


def remembers(message_id: int) -> bool:
    """This process knows what an interrupted attempt of the message sent (the database went
    away before the commit): the attempt goes on without repeating those parts."""
    return bool(_unrecorded.get(message_id))


@dataclass(slots=True)
class Part:
    """One Telegram message of a reply: a piece of text or one file."""

    text: str = ""
    file: OutboundFile | None = None


def keyboard(buttons: Any) -> dict[str, Any] | None:
    """meta["buttons"] as an inline keyboard, one button per row."""
    rows: list[list[dict[str, str]]] = []
    for b in buttons if isinstance(buttons, list) else []:
        if not isinstance(b, dict) or not str(b.get("text") or "").strip():
            continue
        label = str(b["text"])
        if b.get("url"):
            rows.append([{"text": label, "url": str(b["url"])}])
        else:
            rows.append([{"text": label, "callback_data": _cut(str(b.get("payload") or label))}])
    return {"inline_keyboard": rows} if rows else None


def _cut(data: str) -> str:
    """callback_data holds at most 64 bytes: longer payloads are cut at a character."""
    raw = data.encode()[:CALLBACK_DATA_MAX_BYTES]
    return raw.decode(errors="ignore")


def parts_of(text: str, files: list[OutboundFile]) -> list[Part]:
    chunks = [text[i : i + TEXT_MAX_CHARS] for i in range(0, len(text), TEXT_MAX_CHARS)]
    return [Part(text=c) for c in chunks if c.strip()] + [Part(file=f) for f in files]


async def send(
    session: AsyncSession, message: Message, conversation: Conversation, inbox: Inbox
) -> DeliveryResult:
    chat_id = conversation.contact_address
    if not chat_id:
        return DeliveryResult(
            Delivery.failed, error="the customer has no Telegram chat", permanent=True
        )
    try:
        files = await outbound_files(session, message)
    except OSError:
        error = "the attached file is no longer stored"
        return DeliveryResult(Delivery.failed, error=error, permanent=True)
    parts = parts_of(message.text or "", files)
    if not parts:
        return DeliveryResult(Delivery.failed, error="nothing to send", permanent=True)
    markup = keyboard((message.meta or {}).get("buttons"))
    tg = dict((message.meta or {}).get("telegram") or {})
    sent: list[int] = list(tg.get("sent") or [])
    if len(_unrecorded.get(message.id, [])) > len(sent):
        sent = list(_unrecorded[message.id])
    result = await _send_parts(inbox.settings or {}, chat_id, parts, markup, sent)
    message.meta = {**(message.meta or {}), "telegram": {**tg, "sent": sent}}
    if sent:
        _unrecorded[message.id] = list(sent)
        message_id = message.id

        def _recorded() -> None:
            _unrecorded.pop(message_id, None)

        after_commit(session, _recorded)
    return result or DeliveryResult(Delivery.sent, external_id=f"{chat_id}:{sent[0]}")


async def _send_parts(
    settings: dict[str, Any],
    chat_id: str,
    parts: list[Part],
    markup: dict[str, Any] | None,
    sent: list[int],
) -> DeliveryResult | None:
    """Sends the parts not sent yet, appending their ids to ``sent``; None when all went."""
    api_base, token = api_base_of(settings), str(settings.get("bot_token") or "")
    for index in range(len(sent), len(parts)):
        keys = markup if index == len(parts) - 1 else None  # the buttons go on the last one
        try:
            await pace.wait(token)
            answer = await _send_part(api_base, token, chat_id, parts[index], keys)
        except TelegramError as exc:
            return _failed(exc)
        except httpx.HTTPError as exc:
            error = f"Telegram: {describe_error(exc)}"
            return DeliveryResult(Delivery.failed, error=error, maybe_reached=maybe_reached(exc))
        sent.append(int(answer["message_id"]))
    return None


def _failed(exc: TelegramError) -> DeliveryResult:
    if exc.code == 429:
        return DeliveryResult(
            Delivery.failed, error=exc.description, retry_after=exc.retry_after or 1.0
        )
    if exc.code >= 500:
        return DeliveryResult(Delivery.failed, error=exc.description)
    # 400 (a bad request), 401 (the token), 403 (the customer blocked the bot): no retry helps.
    return DeliveryResult(Delivery.failed, error=exc.description, permanent=True)


async def _send_part(
    api_base: str, token: str, chat_id: str, part: Part, markup: dict[str, Any] | None
) -> dict[str, Any]:
    extra: dict[str, Any] = {"reply_markup": markup} if markup else {}
    if part.file is None:
        payload = {"chat_id": chat_id, "text": part.text, **extra}
        result: dict[str, Any] = await call(api_base, token, "sendMessage", payload)
        return result
    att = part.file
    form = {"chat_id": chat_id, **extra}
    if att.content_type in PHOTO_TYPES:
        try:
            photo = {"photo": (att.filename, att.data, att.content_type)}
            result = await call(api_base, token, "sendPhoto", form, files=photo)
            return result
        except TelegramError as exc:
            if exc.code != 400:
                raise
            # A picture Telegram will not show as a photo (too large, odd shape): as a file.
    document = {"document": (att.filename, att.data, att.content_type)}
    result = await call(api_base, token, "sendDocument", form, files=document)
    return result
