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
