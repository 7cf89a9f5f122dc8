"""Helpers of the auto-reply tests: rules through the API, customers through the widget."""

from __future__ import annotations

from typing import Any

import httpx

from omniline import db
from omniline.autoreplies import listeners
from omniline.kit.hooks import DomainEvent
from tests.conftest import Demo, bearer, staff_token, visitor

ADMIN = ("admin@demo.omniline", "demo-admin")
AGENT = ("agent@demo.omniline", "demo-agent")


async def admin_headers(client: httpx.AsyncClient) -> dict[str, str]:
    return bearer(await staff_token(client, *ADMIN))


def rule_body(kind: str = "greeting", **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": f"{kind} rule",
        "kind": kind,
        "fallback_language": "en",
        "texts": [{"language": "en", "text": f"{kind} in English"}],
    }
    body.update(extra)
    return body


async def create_rule(client: httpx.AsyncClient, headers: dict[str, str], **body: Any) -> int:
    r = await client.post("/api/v1/autoreplies", json=rule_body(**body), headers=headers)
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


async def customer_writes(
    client: httpx.AsyncClient, text: str = "Hello", token: str | None = None, **session: Any
) -> tuple[str, int]:
    token = token or await visitor(client, **session)
    r = await client.post("/api/v1/widget/messages", json={"text": text}, headers=bearer(token))
    assert r.status_code == 201, r.text
    return token, int(r.json()["conversation_id"])


async def fire(event_type: str, demo: Demo, conv_id: int) -> None:
    """Emit a conversation event to the auto-reply listeners, committed like the caller would."""
    handler = {
        "conversation.created": listeners.on_created,
        "conversation.queued": listeners.on_queued,
        "conversation.resolved": listeners.on_resolved,
    }[event_type]
    async with db.unit_of_work() as session:
        await handler(
            session, DomainEvent(event_type, demo.workspace_id, {"conversation_id": conv_id})
        )


async def widget_messages(client: httpx.AsyncClient, token: str) -> list[dict[str, Any]]:
    r = await client.get("/api/v1/widget/messages", headers=bearer(token))
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


async def bot_texts(client: httpx.AsyncClient, token: str) -> list[str]:
    return [
        m["text"]
        for m in await widget_messages(client, token)
        if m["author"]["type"] in ("bot", "system")
    ]
