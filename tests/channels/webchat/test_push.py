"""Mobile push webhook: an agent answers while the app is not connected."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
import orjson
import pytest
import uvicorn
from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import Response

from omniline import db
from omniline.inboxes import service as inboxes
from omniline.jobs.models import Job
from omniline.jobs.runner import Runner
from omniline.kit.clock import utcnow
from omniline.webhooks.signing import verify
from tests.conftest import Demo, LiveServer, bearer, free_port, staff_token
from tests.identity import signed_identity
from tests.realtime.conftest import open_stream, ws_url

SECRET = "push-secret-123"
AGENT = ("agent@demo.omniline", "demo-agent")


@dataclass
class Receiver:
    """The lender's push service: records each request, answers the queued statuses."""

    url: str = ""
    answers: list[int] = field(default_factory=list)
    got: list[tuple[dict[str, str], bytes]] = field(default_factory=list)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        self.got.append((dict(request.headers), await request.body()))
        status = self.answers.pop(0) if self.answers else 200
        await Response("nope" if status >= 400 else "ok", status_code=status)(scope, receive, send)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    rec = Receiver()
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(rec, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    rec.url = f"http://127.0.0.1:{port}/push"
    yield rec
    server.should_exit = True
    await asyncio.wait_for(task, 10)


@pytest.fixture
async def http(live_server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=live_server.url, timeout=10) as c:
        yield c


async def _app_inbox(demo: Demo, url: str | None) -> str:
    settings = {"push_url": url, "push_secret": SECRET} if url else {}
    async with db.unit_of_work() as session:
        inbox = await inboxes.do_create_inbox(
            session,
            demo.workspace_id,
            channel="mobile",
            name="MicroLend app",
            default_queue_id=demo.queues["First line"],
            settings=settings,
            identity_secret="app-identity-secret",
        )
        return inbox.key


async def _customer_writes(http: httpx.AsyncClient, key: str) -> tuple[str, int, int]:

    r = await http.post(
        "/api/v1/widget/sessions",
        json={"inbox_key": key, "identity": signed_identity("app-identity-secret", "client-9")},
    )
    assert r.status_code == 201, r.text
    token, contact_id = r.json()["session_token"], r.json()["contact_id"]
    sent = await http.post("/api/v1/widget/messages", json={"text": "Hi"}, headers=bearer(token))
    assert sent.status_code == 201
    return token, contact_id, sent.json()["conversation_id"]


async def _agent_says(
    http: httpx.AsyncClient, conv_id: int, text: str, private: bool = False
) -> int:
    headers = bearer(await staff_token(http, *AGENT))
    r = await http.post(
        f"/api/v1/conversations/{conv_id}/messages",
        json={"text": text, "private": private},
        headers=headers,
    )
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


async def _push_jobs() -> list[Job]:
    async with db.sessionmaker()() as session:
        return list(await session.scalars(select(Job).where(Job.kind == "push_notify")))


async def test_a_reply_to_an_absent_app_is_pushed_signed(
    live_server: LiveServer, http: httpx.AsyncClient, demo: Demo, receiver: Receiver
) -> None:
    key = await _app_inbox(demo, receiver.url)
    _token, contact_id, conv_id = await _customer_writes(http, key)
    assert await _push_jobs() == []  # the customer's own message pushes nothing
    long_text = "Your loan is approved. " * 20
    msg_id = await _agent_says(http, conv_id, long_text)
    await Runner().run_due()

    (headers, body) = receiver.got[0]
    assert len(receiver.got) == 1
    assert verify(SECRET, headers["x-omniline-timestamp"], body, headers["x-omniline-signature"])
    assert not verify(
        "wrong", headers["x-omniline-timestamp"], body, headers["x-omniline-signature"]
    )
    sent = orjson.loads(body)
    assert sent["event"] == "message.created" and sent["inbox_key"] == key
    assert sent["contact"] == {"id": contact_id, "external_id": "client-9"}
    assert sent["conversation_id"] == conv_id
    assert sent["message"]["id"] == msg_id
    assert sent["message"]["text"] == long_text[:200]
    assert sent["message"]["author_name"] == "Anna Agent"
    assert sent["message"]["created_at"].endswith("Z")


async def test_no_push_while_the_app_is_connected_or_for_notes(
    live_server: LiveServer, http: httpx.AsyncClient, demo: Demo, receiver: Receiver
) -> None:
    key = await _app_inbox(demo, receiver.url)
    token, _contact_id, conv_id = await _customer_writes(http, key)
    app = await open_stream(ws_url(live_server, "/api/v1/widget/stream", token=token))
    await app.hello()
    await _agent_says(http, conv_id, "You are online, so no push")
    await _agent_says(http, conv_id, "internal", private=True)
    await Runner().run_due()
    assert receiver.got == []
    assert len(await _push_jobs()) == 1  # the note wrote no job; the reply's job did nothing
    await app.ws.close()


async def test_an_inbox_without_a_push_url_writes_no_job(
    live_server: LiveServer, http: httpx.AsyncClient, demo: Demo
) -> None:
    key = await _app_inbox(demo, None)
    _token, _contact_id, conv_id = await _customer_writes(http, key)
    await _agent_says(http, conv_id, "Hello")
    assert await _push_jobs() == []


async def test_a_failed_push_is_retried_and_a_refused_one_given_up(
    live_server: LiveServer, http: httpx.AsyncClient, demo: Demo, receiver: Receiver
) -> None:
    key = await _app_inbox(demo, receiver.url)
    _token, _contact_id, conv_id = await _customer_writes(http, key)
    receiver.answers = [500]
    await _agent_says(http, conv_id, "First")
    await Runner().run_due()
    (job,) = await _push_jobs()
    assert job.state == "pending" and "HTTP 500" in (job.last_error or "")
    async with db.unit_of_work() as session:  # the back-off has passed
        row = await session.get(Job, job.id)
        assert row is not None
        row.run_at = utcnow()
    await Runner().run_due()
    assert len(receiver.got) == 2
    (job,) = await _push_jobs()
    assert job.state == "done"

    receiver.answers = [410]
    await _agent_says(http, conv_id, "Second")
    await Runner().run_due()
    assert len(receiver.got) == 3
    jobs = sorted(await _push_jobs(), key=lambda j: j.id)
    # 410: the service refuses it for good: no retry, parked with the reason for a person.
    assert [j.state for j in jobs] == ["done", "failed"]
    assert "HTTP 410" in (jobs[1].last_error or "")


async def test_a_rate_limited_push_waits_and_is_sent_later(
    live_server: LiveServer, http: httpx.AsyncClient, demo: Demo, receiver: Receiver
) -> None:
    key = await _app_inbox(demo, receiver.url)
    _token, _contact_id, conv_id = await _customer_writes(http, key)
    receiver.answers = [429]
    await _agent_says(http, conv_id, "Hello")
    await Runner().run_due()
    (job,) = await _push_jobs()
    assert job.state == "pending" and "429" in (job.last_error or "")
    assert job.run_at >= utcnow() + timedelta(seconds=20)
    assert await Runner().run_due() == 0  # not due yet
    async with db.unit_of_work() as session:
        row = await session.get(Job, job.id)
        assert row is not None
        row.run_at = utcnow()
    await Runner().run_due()
    assert len(receiver.got) == 2
