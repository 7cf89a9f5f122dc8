"""The Callback API endpoint VK posts community events to.

VK wants the plain text "ok" quickly (it repeats an event otherwise), or the confirmation
code for a ``confirmation`` event. The secret VK sends in the body is checked before
anything is stored; a message is committed before "ok" goes back.
"""

from __future__ import annotations

import hmac
from typing import Any

import orjson
from fastapi import Request
from fastapi.responses import PlainTextResponse

from omniline.channels._kit import WebhookInbox, inbox_by_key, read_body
from omniline.channels.vk.inbound import parse_message
from omniline.conversations.ingest import get_batcher
from omniline.errors import BadRequest, Forbidden, NotFound
from omniline.kit.routing import router as make_router

CHANNEL = "vk"

router = make_router(tags=["channels"])


async def read_event(request: Request) -> dict[str, Any]:
    raw = await read_body(request)
    try:
        event = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise BadRequest("the body is not JSON") from None
    if not isinstance(event, dict) or not isinstance(event.get("type"), str):
        raise BadRequest("a VK event is a JSON object with a type")
    return event


def check_origin(inbox: WebhookInbox, event: dict[str, Any]) -> None:
    """The community must match; the secret must match (a confirmation may come without)."""
    expected = str(inbox.settings.get("secret_key") or "")
    given = event.get("secret")
    if given is None and event["type"] == "confirmation":
        pass
    elif not isinstance(given, str) or not expected:
        raise Forbidden("the secret key is missing")
    elif not hmac.compare_digest(given.encode(), expected.encode()):
        raise Forbidden("the secret key does not match")
    if str(event.get("group_id")) != str(inbox.settings.get("group_id")):
        raise Forbidden("the event is for another community")


@router.post("/channels/vk/{inbox_key}/callback", response_class=PlainTextResponse)
async def callback(inbox_key: str, request: Request) -> PlainTextResponse:
    inbox = await inbox_by_key(inbox_key, CHANNEL)
    if inbox is None:
        raise NotFound("no VK inbox has this address")
    event = await read_event(request)
    check_origin(inbox, event)
    if event["type"] == "confirmation":
        return PlainTextResponse(str(inbox.settings.get("confirmation_code") or ""))
    if event["type"] == "message_new":
        await get_batcher().submit(parse_message(inbox, event.get("object")))
    return PlainTextResponse("ok")
