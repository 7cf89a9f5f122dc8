"""Fixtures of the SLA tests: a movable clock, a policy on the First line, event capture."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from omniline import db
from omniline.conversations.models import ConversationEvent
from omniline.kit import hooks
from omniline.kit.clock import utcnow
from tests.auth.conftest import fast_password_hashing
from tests.conftest import Demo, bearer, staff_token, visitor

__all__ = ["fast_password_hashing"]

ADMIN = ("admin@demo.omniline", "demo-admin")
AGENT = ("agent@demo.omniline", "demo-agent")


class Clock:
    """Moves the SLA clock and the job runner's clock forward together."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def now(self) -> datetime:
        return utcnow() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    c = Clock()
    monkeypatch.setattr("omniline.sla.timers.now", c.now)
    monkeypatch.setattr("omniline.jobs.runner.utcnow", c.now)
    return c


@pytest.fixture
def domain_events() -> Iterator[list[hooks.DomainEvent]]:
    """Committed domain events ``sla.warning`` / ``sla.breached`` (what webhooks deliver)."""
    got: list[hooks.DomainEvent] = []

    async def collect(session: Any, event: hooks.DomainEvent) -> None:
        # Counted once committed, as the webhook job a listener writes would be.
        db.after_commit(session, lambda: got.append(event))

    for kind in ("sla.warning", "sla.breached"):
        hooks.on(kind, collect)
    yield got
    for kind in ("sla.warning", "sla.breached"):
        hooks._listeners.get(kind, []).remove(collect)


async def admin_headers(client: httpx.AsyncClient) -> dict[str, str]:
    return bearer(await staff_token(client, *ADMIN))


async def agent_headers(client: httpx.AsyncClient) -> dict[str, str]:
    return bearer(await staff_token(client, *AGENT))


def policy_body(demo: Demo, **over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "First line promise",
        "queue_id": demo.queues["First line"],
        "first_response_seconds": 600,
        "next_response_seconds": 300,
        "resolution_seconds": 3600,
        "warning_share": 0.8,
        "warning_actions": ["notify"],
        "breach_actions": ["notify", "tag", "webhook"],
        "breach_tag": "free-month",
    }
    body.update(over)
    return body


async def make_policy(client: httpx.AsyncClient, demo: Demo, **over: Any) -> dict[str, Any]:
    r = await client.post(
        "/api/v1/sla/policies", json=policy_body(demo, **over), headers=await admin_headers(client)
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


async def customer_writes(
    client: httpx.AsyncClient, text: str = "Where is my loan?", token: str | None = None
) -> tuple[str, int]:
    token = token or await visitor(client)
    r = await client.post("/api/v1/widget/messages", json={"text": text}, headers=bearer(token))
    assert r.status_code == 201, r.text
    body = r.json()
    return token, int(body["conversation_id"])


async def sla_events(conv_id: int) -> list[ConversationEvent]:
    async with db.sessionmaker()() as session:
        return list(
            await session.scalars(
                select(ConversationEvent)
                .where(
                    ConversationEvent.conversation_id == conv_id,
                    ConversationEvent.type.in_(["sla_warning", "sla_breached"]),
                )
                .order_by(ConversationEvent.id)
            )
        )
