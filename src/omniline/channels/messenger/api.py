"""The Messenger webhook: Meta's verification handshake (GET) and signed events (POST).

The X-Hub-Signature-256 header (HMAC-SHA256 of the raw body with the app secret) is
checked before the body is even parsed; messages are committed before the 200 goes back.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac

import orjson
from fastapi import Request
from fastapi.responses import PlainTextResponse

from omniline import db
from omniline.channels._kit import WebhookInbox, inbox_by_key, read_body
from omniline.channels.messenger import statuses
from omniline.channels.messenger.inbound import parse
from omniline.conversations.ingest import get_batcher
from omniline.errors import BadRequest, Forbidden, NotFound, Unauthorized
from omniline.kit.routing import router as make_router

CHANNEL = "messenger"
PATH = "/channels/messenger/{inbox_key}/webhook"

router = make_router(tags=["channels"])


async def _inbox(inbox_key: str) -> WebhookInbox:
    inbox = await inbox_by_key(inbox_key, CHANNEL)
    if inbox is None:
        raise NotFound("no Messenger inbox has this address")
    return inbox


@router.get(PATH, response_class=PlainTextResponse)
async def verify(inbox_key: str, request: Request) -> PlainTextResponse:
    inbox = await _inbox(inbox_key)
    q = request.query_params
    expected = str(inbox.settings.get("verify_token") or "")
    given = q.get("hub.verify_token") or ""
    if q.get("hub.mode") != "subscribe" or not expected:
        raise Forbidden("not a subscription request")
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise Forbidden("the verify token does not match")
    return PlainTextResponse(q.get("hub.challenge") or "")


def check_signature(inbox: WebhookInbox, header: str | None, raw: bytes) -> None:
    secret = str(inbox.settings.get("app_secret") or "")
    if not header:
        raise Unauthorized("the X-Hub-Signature-256 header is missing")
    expected = "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    if not secret or not hmac.compare_digest(header.strip().encode(), expected.encode()):
        raise Forbidden("the signature does not match")


@router.post(PATH, response_class=PlainTextResponse)
async def receive(inbox_key: str, request: Request) -> PlainTextResponse:
    inbox = await _inbox(inbox_key)
    raw = await read_body(request)
    check_signature(inbox, request.headers.get("x-hub-signature-256"), raw)
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise BadRequest("the body is not JSON") from None
    parsed = parse(inbox, body)
    batcher = get_batcher()
    await asyncio.gather(*(batcher.submit(m) for m in parsed.messages))
    if parsed.statuses:
        async with db.unit_of_work() as session:
            for report in parsed.statuses:
                await statuses.apply(session, inbox, report)
    return PlainTextResponse("EVENT_RECEIVED")
