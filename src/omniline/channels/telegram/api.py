"""Telegram's webhook: one POST per update, answered only after the message is committed.

The hot path is short on purpose (>= 1,000 updates/s per process): check the secret
header, parse with orjson, build the InboundMessage, hand it to the ingest writer.
Files are downloaded afterwards by the fetch_media job.
"""

from __future__ import annotations

import asyncio
import hmac
import logging

import httpx
import orjson
from fastapi import Request, Response

from omniline.channels._kit import WebhookInbox, inbox_by_key, read_body
from omniline.channels.telegram.client import TelegramError, api_base_of, call
from omniline.channels.telegram.updates import Malformed, parse
from omniline.conversations.ingest import get_batcher
from omniline.errors import BadRequest, Forbidden, NotFound, Unauthorized
from omniline.kit.routing import router as make_router

log = logging.getLogger(__name__)
router = make_router(tags=["telegram"])

SECRET_HEADER = "x-telegram-bot-api-secret-token"
OK = b'{"ok":true}'
IGNORED = b'{"ok":true,"ignored":true}'
_pending: set[asyncio.Task[None]] = set()


@router.post("/channels/telegram/{inbox_key}/webhook")
async def webhook(inbox_key: str, request: Request) -> Response:
    inbox = await inbox_by_key(inbox_key, "telegram")
    if inbox is None:
        raise NotFound("no such Telegram inbox")
    given = request.headers.get(SECRET_HEADER)
    if not given:
        raise Unauthorized("the secret token header is missing")
    secret = str(inbox.settings.get("webhook_secret") or "")
    if not secret or not hmac.compare_digest(given.encode(), secret.encode()):
        raise Forbidden("the secret token does not match")
    body = await read_body(request)
    try:
        parsed = parse(orjson.loads(body), inbox.workspace_id, inbox.id)
    except (orjson.JSONDecodeError, Malformed) as exc:
        log.info("telegram inbox %s: malformed update: %s", inbox.id, exc)
        raise BadRequest(f"not a Telegram update: {exc}") from None
    if parsed is None:
        return Response(IGNORED, media_type="application/json")
    received = await get_batcher().submit(parsed.item)
    if parsed.callback_id and not received.duplicate:
        _answer_callback(inbox, parsed.callback_id)
    return Response(OK, media_type="application/json")


def _answer_callback(inbox: WebhookInbox, callback_id: str) -> None:
    """Stops the spinner on the pressed button; the message is already stored."""
    task = asyncio.create_task(_answer(inbox, callback_id))
    _pending.add(task)
    task.add_done_callback(_pending.discard)


async def _answer(inbox: WebhookInbox, callback_id: str) -> None:
    try:
        token = str(inbox.settings.get("bot_token") or "")
        payload = {"callback_query_id": callback_id}
        await call(api_base_of(inbox.settings), token, "answerCallbackQuery", payload)
    except (TelegramError, httpx.HTTPError) as exc:
        log.info("telegram inbox %s: answerCallbackQuery failed: %s", inbox.id, exc)
