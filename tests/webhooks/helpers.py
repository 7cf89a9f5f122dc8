"""Helpers of the webhook tests: sign in, a customer writes, jobs run as time passes."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import func, select, update

from omniline import db
from omniline.jobs.models import Job, JobState
from omniline.jobs.runner import Runner
from omniline.kit.clock import utcnow
from omniline.webhooks.models import WebhookDelivery
from tests.conftest import bearer, staff_token, visitor

ADMIN = ("admin@demo.omniline", "demo-admin")
AGENT = ("agent@demo.omniline", "demo-agent")
ALL_EVENTS = ["message.created", "conversation.assigned", "conversation.resolved"]


async def login(client: httpx.AsyncClient, who: tuple[str, str] = ADMIN) -> dict[str, str]:
    return bearer(await staff_token(client, *who))


async def customer_writes(client: httpx.AsyncClient, text: str = "Hello") -> int:
    token = await visitor(client)
    r = await client.post("/api/v1/widget/messages", json={"text": text}, headers=bearer(token))
    assert r.status_code == 201, r.text
    return int(r.json()["conversation_id"])


async def subscribe(
    client: httpx.AsyncClient, headers: dict[str, str], url: str, **extra: Any
) -> dict[str, Any]:
    body = {"url": url, "event_types": ALL_EVENTS, **extra}
    r = await client.post("/api/v1/webhooks", json=body, headers=headers)
    assert r.status_code == 201, r.text
    return dict(r.json())


async def run_due_now() -> int:
    """Time passes until every pending job is due, then the runner runs them once."""
    async with db.unit_of_work() as session:
        await session.execute(
            update(Job).where(Job.state == JobState.pending.value).values(run_at=utcnow())
        )
    runner = Runner()
    try:
        return await runner.run_due()
    finally:
        await runner.stop()


async def drain(limit: int = 20) -> None:
    for _ in range(limit):
        if not await run_due_now():
            return
    raise AssertionError("jobs kept coming")


async def deliveries() -> list[WebhookDelivery]:
    async with db.sessionmaker()() as session:
        return list(await session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))


async def webhook_jobs() -> int:
    async with db.sessionmaker()() as session:
        n = await session.scalar(
            select(func.count()).select_from(Job).where(Job.kind == "webhook_deliver")
        )
        return int(n or 0)
