"""/metrics for Prometheus, /healthz and /readyz, and a request id in the response, the log
lines and the jobs the request starts."""

from __future__ import annotations

import json
import logging
import re

import httpx
import pytest
from sqlalchemy import select

from omniline import db
from omniline.config import Settings, set_settings
from omniline.jobs.models import Job
from omniline.ops.logs import JsonFormatter, RequestIdFilter
from tests.conftest import Demo, bearer, free_port, staff_token

NOWHERE = "postgresql+asyncpg://postgres@127.0.0.1:9/nowhere"


def _value(text: str, name: str, **labels: str) -> float:
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith(f"{name}{{{want}}}") or (not labels and line.startswith(f"{name} ")):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_metrics_count_requests_messages_and_waiting_conversations(
    client: httpx.AsyncClient, demo: Demo
) -> None:
    before = (await client.get("/metrics")).text
    visitor = (
        await client.post("/api/v1/widget/sessions", json={"inbox_key": demo.inbox_key})
    ).json()["session_token"]
    for i in range(3):
        r = await client.post(
            "/api/v1/widget/messages", json={"text": f"hi {i}"}, headers=bearer(visitor)
        )
        assert r.status_code == 201
    r = await client.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    text = r.text
    route = {"method": "POST", "route": "/api/v1/widget/messages", "status": "201"}
    assert (
        _value(text, "omniline_http_requests_total", **route)
        - _value(before, "omniline_http_requests_total", **route)
        == 3
    )
    assert (
        _value(text, "omniline_messages_ingested_total", channel="webchat")
        - _value(before, "omniline_messages_ingested_total", channel="webchat")
        == 3
    )
    waiting = {"workspace_id": str(demo.workspace_id), "queue_id": str(demo.queues["First line"])}
    assert _value(text, "omniline_conversations_waiting", **waiting) == 1, [
        line for line in text.splitlines() if "waiting" in line
    ]
    assert "omniline_http_request_seconds_bucket" in text
    assert "omniline_jobs_oldest_due_seconds" in text
    assert 'omniline_open_sockets{kind="staff"}' in text
    assert _value(text, "omniline_database_up") == 1


async def test_metrics_need_the_token_when_one_is_set(
    client: httpx.AsyncClient, demo: Demo, settings: Settings
) -> None:
    set_settings(settings.model_copy(update={"metrics_token": "scrape-me-0123456789"}))
    assert (await client.get("/metrics")).status_code == 403
    assert (await client.get("/metrics", headers=bearer("wrong"))).status_code == 403
    r = await client.get("/metrics", headers=bearer("scrape-me-0123456789"))
    assert r.status_code == 200
    set_settings(settings)


async def test_metrics_are_not_public_without_a_token(demo: Demo, app: object) -> None:
    transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 5555))  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        assert (await c.get("/metrics")).status_code == 403
        assert (await c.get("/healthz")).status_code == 200


async def test_health_and_readiness(
    client: httpx.AsyncClient, demo: Demo, settings: Settings
) -> None:
    assert (await client.get("/healthz")).json()["status"] == "ok"
    ready = await client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["database"] == "ok"

    # Redis configured but not answering: not ready, and it says which.
    set_settings(settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{free_port()}/0"}))
    r = await client.get("/readyz")
    assert r.status_code == 503
    assert r.json() == {"status": "error", "database": "ok", "redis": "error"}
    set_settings(settings)

    # The database away: still alive, not ready.
    await db.dispose_engine()
    db.init_engine(settings.model_copy(update={"database_url": NOWHERE}))
    try:
        assert (await client.get("/healthz")).status_code == 200
        r = await client.get("/readyz")
        assert r.status_code == 503 and r.json()["database"] == "error"
        assert _value((await client.get("/metrics")).text, "omniline_database_up") == 0
    finally:
        await db.dispose_engine()
        db.init_engine(settings)


async def test_a_request_id_goes_into_the_answer_the_logs_and_its_jobs(
    client: httpx.AsyncClient, demo: Demo, caplog: pytest.LogCaptureFixture
) -> None:
    r = await client.get("/healthz")
    assert re.fullmatch(r"[0-9a-f]{32}", r.headers["x-request-id"])
    r = await client.get("/healthz", headers={"X-Request-ID": "lb-7f3a-0001"})
    assert r.headers["x-request-id"] == "lb-7f3a-0001"
    r = await client.get("/healthz", headers={"X-Request-ID": "bad id\nwith lines"})
    assert r.headers["x-request-id"] != "bad id\nwith lines"

    # An agent's reply writes a delivery job: it carries the request's id.
    token = await staff_token(client, "agent@demo.omniline", "demo-agent")
    visitor = (
        await client.post("/api/v1/widget/sessions", json={"inbox_key": demo.inbox_key})
    ).json()["session_token"]
    conv = (
        await client.post("/api/v1/widget/messages", json={"text": "hi"}, headers=bearer(visitor))
    ).json()["conversation_id"]
    r = await client.post(
        f"/api/v1/conversations/{conv}/messages",
        json={"text": "Hello"},
        headers={**bearer(token), "X-Request-ID": "reply-req-42"},
    )
    assert r.status_code == 201, r.text
    async with db.sessionmaker()() as session:
        kinds = {
            j.kind: j.request_id
            for j in await session.scalars(select(Job).where(Job.request_id == "reply-req-42"))
        }
    assert "deliver_message" in kinds


def test_json_log_lines() -> None:
    from omniline.ops.request_context import request_id

    record = logging.LogRecord(
        "omniline.test", logging.WARNING, __file__, 1, "hello %s", ("you",), None
    )
    record.conversation_id = 42
    token = request_id.set("abc-123")
    try:
        RequestIdFilter().filter(record)
        line = JsonFormatter().format(record)
    finally:
        request_id.reset(token)
    out = json.loads(line)
    assert out["message"] == "hello you"
    assert out["level"] == "warning" and out["logger"] == "omniline.test"
    assert out["request_id"] == "abc-123"
    assert out["conversation_id"] == 42
    assert out["time"].endswith("Z")
