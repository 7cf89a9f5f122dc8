"""A database that does not answer: 503 with Retry-After (never a 500 or a hang), one log line
for the outage and one when it is back."""

from __future__ import annotations

import logging

import httpx
import pytest

from omniline import db
from omniline.config import Settings
from tests.conftest import Demo, bearer, staff_token

NOWHERE = "postgresql+asyncpg://postgres@127.0.0.1:9/nowhere"


async def test_requests_during_an_outage_get_503_and_work_after(
    client: httpx.AsyncClient, demo: Demo, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    visitor = (
        await client.post("/api/v1/widget/sessions", json={"inbox_key": demo.inbox_key})
    ).json()["session_token"]
    agent = await staff_token(client, "agent@demo.omniline", "demo-agent")

    await db.dispose_engine()
    db.init_engine(settings.model_copy(update={"database_url": NOWHERE}))
    caplog.clear()
    with caplog.at_level(logging.INFO):
        answers = []
        for i in range(5):
            answers.append(
                await client.post(
                    "/api/v1/widget/messages", json={"text": f"hello {i}"}, headers=bearer(visitor)
                )
            )
        answers.append(await client.get("/api/v1/conversations", headers=bearer(agent)))
        assert [r.status_code for r in answers] == [503] * 6
        for r in answers:
            assert r.headers["retry-after"] == "5"
            assert r.json()["error"]["code"] == "service_unavailable"
            assert "content-security-policy" in r.headers
        assert not [rec for rec in caplog.records if rec.exc_info]  # no tracebacks
        assert len([rec for rec in caplog.records if "not answering" in rec.getMessage()]) == 1

        await db.dispose_engine()
        db.init_engine(settings)
        r = await client.post(
            "/api/v1/widget/messages", json={"text": "back again"}, headers=bearer(visitor)
        )
        assert r.status_code == 201, r.text
    assert any("answers again" in rec.getMessage() for rec in caplog.records)


async def test_a_deadlock_the_database_breaks_is_answered_503_to_retry(
    client: httpx.AsyncClient, demo: Demo, backend: str, database_url: str
) -> None:
    """Another transaction holds the agent's state row and then wants the conversation an
    agent is resolving: PostgreSQL ends one of the two. The request it ends is answered 503
    with Retry-After (nothing was saved), not 500, and sent again it succeeds."""
    if backend != "postgres":
        pytest.skip("SQLite has one writer: no deadlock")
    import asyncio

    import asyncpg

    agent_id = demo.users["agent"]
    admin = await staff_token(client, "admin@demo.omniline", "demo-admin")
    agent = await staff_token(client, "agent@demo.omniline", "demo-agent")
    r = await client.put("/api/v1/me/presence", json={"status": "online"}, headers=bearer(agent))
    assert r.status_code == 200, r.text
    visitor = (
        await client.post("/api/v1/widget/sessions", json={"inbox_key": demo.inbox_key})
    ).json()["session_token"]
    r = await client.post(
        "/api/v1/widget/messages", json={"text": "my card"}, headers=bearer(visitor)
    )
    conv = r.json()["conversation_id"]
    r = await client.post(
        f"/api/v1/conversations/{conv}/assign", json={"assignee_id": agent_id},
        headers=bearer(admin),
    )  # fmt: skip
    assert r.status_code == 200, r.text

    other = await asyncpg.connect(database_url.replace("postgresql+asyncpg", "postgresql"))
    try:
        await other.execute("SET deadlock_timeout = '30s'")  # the request's side detects it
        tx = other.transaction()
        await tx.start()
        await other.execute("UPDATE agent_states SET since = since WHERE user_id = $1", agent_id)
        resolving = asyncio.create_task(
            client.post(f"/api/v1/conversations/{conv}/resolve", headers=bearer(agent))
        )
        await asyncio.sleep(0.5)  # the resolve now waits for the agent's row at its commit
        await other.execute("UPDATE conversations SET topic = topic WHERE id = $1", conv)
        answer = await resolving
        await tx.rollback()
    finally:
        await other.close()
    assert answer.status_code == 503, answer.text
    assert answer.headers["retry-after"] == "1"
    assert answer.json()["error"]["code"] == "service_unavailable"
    again = await client.post(f"/api/v1/conversations/{conv}/resolve", headers=bearer(agent))
    assert again.status_code == 200, again.text
    assert again.json()["status"] == "resolved"
