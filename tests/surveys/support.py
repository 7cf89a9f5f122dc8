"""Helpers of the survey tests: settings through the API, a conversation an agent resolved."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

from omniline import db
from omniline.surveys.models import SurveyRequest
from tests.channels.telegram.helpers import run_jobs
from tests.conftest import Demo, bearer, staff_token, visitor

ADMIN = ("admin@demo.omniline", "demo-admin")
SUPERVISOR = ("supervisor@demo.omniline", "demo-supervisor")
AGENT = ("agent@demo.omniline", "demo-agent")

__all__ = ["run_jobs"]


async def headers(client: httpx.AsyncClient, who: tuple[str, str] = ADMIN) -> dict[str, str]:
    return bearer(await staff_token(client, *who))


async def enable(client: httpx.AsyncClient, inbox_id: int, **body: Any) -> dict[str, Any]:
    h = await headers(client)
    r = await client.put(
        f"/api/v1/surveys/settings/{inbox_id}", json={"enabled": True, **body}, headers=h
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


async def handled_and_resolved(
    client: httpx.AsyncClient, demo: Demo, conv_id: int, agent: str = "agent"
) -> None:
    """An agent takes the conversation, answers and resolves it."""
    h = await headers(client)
    r = await client.post(
        f"/api/v1/conversations/{conv_id}/assign",
        json={"assignee_id": demo.users[agent]},
        headers=h,
    )
    assert r.status_code == 200, r.text
    ah = await headers(client, AGENT)
    r = await client.post(
        f"/api/v1/conversations/{conv_id}/messages",
        json={"text": "Done, anything else?"},
        headers=ah,
    )
    assert r.status_code == 201, r.text
    r = await client.post(f"/api/v1/conversations/{conv_id}/resolve", headers=ah)
    assert r.status_code == 200, r.text


async def widget_chat(
    client: httpx.AsyncClient, text: str = "My card is blocked"
) -> tuple[str, int]:
    token = await visitor(client)
    r = await client.post("/api/v1/widget/messages", json={"text": text}, headers=bearer(token))
    assert r.status_code == 201, r.text
    return token, int(r.json()["conversation_id"])


async def requests_of(conv_id: int) -> list[SurveyRequest]:
    async with db.sessionmaker()() as session:
        rows = await session.scalars(
            select(SurveyRequest).where(SurveyRequest.conversation_id == conv_id)
        )
        return list(rows)


async def answers(client: httpx.AsyncClient, **params: Any) -> list[dict[str, Any]]:
    r = await client.get(
        "/api/v1/surveys/answers", params=params, headers=await headers(client, SUPERVISOR)
    )
    assert r.status_code == 200, r.text
    return list(r.json()["items"])
