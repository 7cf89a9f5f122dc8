"""Meta's webhook for one WhatsApp inbox: GET answers the verification challenge, POST
carries messages and delivery statuses.

The hot path is short: check the signature on the raw body, parse with orjson, hand the
messages to the ingest writer (which commits before we answer 200) and write statuses in
one unit of work. The inbox's secrets are cached for a few seconds so a burst of webhooks
does not read the same row thousands of times.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import time
from dataclasses import dataclass
from typing import Annotated

import orjson
from fastapi import Query, Request
from fastapi.responses import PlainTextResponse, Response

from omniline.channels.whatsapp.parse import Malformed, StatusReport, Target, parse
from omniline.conversations.delivery import update_delivery_status
from omniline.conversations.ingest import get_batcher
from omniline.db import sessionmaker, unit_of_work
from omniline.errors import BadRequest, Forbidden, NotFound, TooLarge, Unauthorized
from omniline.inboxes import repository as inboxes
from omniline.kit.ids import Id
from omniline.kit.routing import router as make_router

log = logging.getLogger(__name__)

router = make_router(prefix="/channels/whatsapp", tags=["whatsapp"])

CACHE_SECONDS = 10.0
MAX_BODY = 3 * 1024 * 1024  # Meta's notifications are a few KB
CACHE_MAX = 10_000  # unknown keys are cached too: random keys must not grow it forever


@dataclass(frozen=True, slots=True)
class Hook:
    target: Target
    app_secret: bytes
    verify_token: str


_cache: dict[str, tuple[float, Hook | None]] = {}


def forget(key: str | None = None) -> None:
    """Drop cached secrets (after an inbox is saved; tests between databases)."""
    if key is None:
        _cache.clear()
    else:
        _cache.pop(key, None)


async def _hook(key: str) -> Hook:
    now = time.monotonic()
    cached = _cache.get(key)
    if cached is None or cached[0] < now:
        async with sessionmaker()() as session:
            inbox = await inboxes.by_key(session, key)
        hook = None
        if inbox is not None and inbox.channel == "whatsapp" and inbox.enabled:
            s = inbox.settings or {}
            target = Target(inbox.id, inbox.workspace_id, str(s.get("phone_number_id") or ""))
            secret = str(s.get("app_secret") or "").encode()
            hook = Hook(target, secret, str(s.get("verify_token") or ""))
        cached = (now + CACHE_SECONDS, hook)
        if len(_cache) >= CACHE_MAX:
            _cache.clear()
        _cache[key] = cached
    if cached[1] is None:
        raise NotFound("no WhatsApp inbox with this key")
    return cached[1]


@router.get("/{inbox_key}/webhook")
async def verify(
    inbox_key: str,
    mode: Annotated[str, Query(alias="hub.mode", max_length=32)] = "",
    token: Annotated[str, Query(alias="hub.verify_token", max_length=256)] = "",
    challenge: Annotated[str, Query(alias="hub.challenge", max_length=256)] = "",
) -> Response:
    hook = await _hook(inbox_key)
    expected = hook.verify_token.encode()
    if mode != "subscribe" or not expected or not hmac.compare_digest(token.encode(), expected):
        raise Forbidden("the verify token does not match this inbox")
    return PlainTextResponse(challenge)


def check_signature(hook: Hook, header: str | None, body: bytes) -> None:
    """Meta signs the raw body with the app secret; checked before anything is parsed."""
    if not header:
        log.warning("whatsapp webhook for inbox %s: no signature", hook.target.inbox_id)
        raise Unauthorized("the X-Hub-Signature-256 header is missing")
    expected = "sha256=" + hmac.new(hook.app_secret, body, hashlib.sha256).hexdigest()
    if not hook.app_secret or not hmac.compare_digest(header.encode(), expected.encode()):
        log.warning(
            "whatsapp webhook for inbox %s: wrong signature (check the app secret)",
            hook.target.inbox_id,
        )
        raise Forbidden("the X-Hub-Signature-256 signature does not match")


@router.post("/{inbox_key}/webhook")
async def receive(inbox_key: str, request: Request) -> Response:
    hook = await _hook(inbox_key)
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > MAX_BODY:
        raise TooLarge("the webhook body is too large")
    body = await request.body()
    check_signature(hook, request.headers.get("x-hub-signature-256"), body)
    try:
        parsed = parse(orjson.loads(body), hook.target)
    except (orjson.JSONDecodeError, Malformed) as exc:
        log.warning("whatsapp webhook for inbox %s refused: %s", hook.target.inbox_id, exc)
        raise BadRequest(f"the payload is not a valid WhatsApp webhook: {exc}") from exc
    if parsed.messages:
        batcher = get_batcher()
        await asyncio.gather(*(batcher.submit(m) for m in parsed.messages))
    if parsed.statuses:
        await _statuses(hook.target.inbox_id, parsed.statuses)
    return Response(b'{"ok":true}', media_type="application/json")


async def _statuses(inbox_id: Id, reports: list[StatusReport]) -> None:
    async with unit_of_work() as session:
        for r in reports:
            await update_delivery_status(session, inbox_id, r.external_id, r.status, r.error)
