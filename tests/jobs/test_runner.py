"""Durable jobs (DESIGN.md §5): written with the change, claimed once, retried, parked."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from omniline import db
from omniline.config import Settings
from omniline.contacts.models import Contact
from omniline.conversations.models import ConversationEvent, Message
from omniline.jobs import service as jobs
from omniline.jobs.models import Job, JobState
from omniline.jobs.registry import RetryLater, job
from omniline.jobs.runner import Runner
from omniline.kit.clock import utcnow
from tests.conftest import Demo, bearer, staff_token, visitor

NOWHERE = "postgresql+asyncpg://postgres@127.0.0.1:9/nowhere"

calls: list[dict[str, Any]] = []


@job("test.explode")
async def explode(session: AsyncSession, payload: dict[str, Any]) -> None:
    calls.append(payload)
    # A half-done change of a failing job must not survive it.
    session.add(Contact(workspace_id=int(payload["workspace_id"]), name="ghost", attributes={}))
    await session.flush()
    raise RuntimeError("the bank's API answered 502")


@job("test.busy")
async def busy(session: AsyncSession, payload: dict[str, Any]) -> None:
    calls.append(payload)
    raise RetryLater("rate limited", 600)


@job("test.record")
async def record(session: AsyncSession, payload: dict[str, Any]) -> None:
    calls.append(payload)


@job("test.beside", concurrent=True)
async def beside(session: AsyncSession, payload: dict[str, Any]) -> None:
    calls.append({"start": payload["i"]})
    await asyncio.sleep(0.1)
    calls.append({"end": payload["i"]})


@pytest.fixture(autouse=True)
def _clear_calls() -> None:
    calls.clear()


async def add_job(kind: str, payload: dict[str, Any], **kwargs: Any) -> int:
    async with db.unit_of_work() as session:
        row = await jobs.enqueue(session, kind, payload, **kwargs)
        await session.flush()
        return row.id


async def get_job(job_id: int) -> Job:
    async with db.sessionmaker()() as session:
        row = await session.get(Job, job_id)
        assert row is not None
        return row


async def make_due(job_id: int) -> None:
    async with db.unit_of_work() as session:
        await session.execute(
            update(Job).where(Job.id == job_id).values(run_at=utcnow() - timedelta(seconds=1))
        )


async def count(model: Any, *where: Any) -> int:
    async with db.sessionmaker()() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def test_reply_is_delivered_by_a_job(client: httpx.AsyncClient, demo: Demo) -> None:
    token = await visitor(client)
    r = await client.post("/api/v1/widget/messages", json={"text": "Hi"}, headers=bearer(token))
    conv = r.json()["conversation_id"]
    agent = bearer(await staff_token(client, "agent@demo.omniline", "demo-agent"))
    reply = (
        await client.post(
            f"/api/v1/conversations/{conv}/messages", json={"text": "Hello!"}, headers=agent
        )
    ).json()
    note = await client.post(
        f"/api/v1/conversations/{conv}/messages",
        json={"text": "internal", "private": True},
        headers=agent,
    )
    assert note.status_code == 201
    assert reply["delivery_status"] == "queued"

    async with db.sessionmaker()() as session:
        # The note needs no delivery (other domains' jobs, e.g. SLA timers, may exist too).
        (pending,) = [j for j in await session.scalars(select(Job)) if j.kind == "deliver_message"]
    assert pending.kind == "deliver_message"
    assert pending.payload["message_id"] == reply["id"]
    assert pending.state == JobState.pending.value
    assert pending.workspace_id == demo.workspace_id

    assert await Runner().run_due() >= 1
    done = await get_job(pending.id)
    assert done.state == JobState.done.value
    assert done.attempts == 1
    assert done.finished_at is not None
    assert done.locked_by is None

    msgs = (await client.get(f"/api/v1/conversations/{conv}/messages", headers=agent)).json()
    by_id = {m["id"]: m for m in msgs["items"]}
    assert by_id[reply["id"]]["delivery_status"] == "sent"
    assert by_id[reply["id"]]["delivery_error"] is None
    # Nothing is left to do, and a second run does not deliver twice.
    assert await Runner().run_due() == 0


async def test_failing_job_backs_off_then_parks_as_failed(
    client: httpx.AsyncClient, demo: Demo
) -> None:
    job_id = await add_job("test.explode", {"workspace_id": demo.workspace_id}, max_attempts=3)
    runner = Runner()
    run_ats = []
    for attempt in (1, 2):
        before = utcnow()
        assert await runner.run_due() == 1
        row = await get_job(job_id)
        assert row.state == JobState.pending.value
        assert row.attempts == attempt
        assert row.last_error is not None and "502" in row.last_error
        assert row.locked_by is None
        assert row.run_at > before
        run_ats.append(row.run_at - before)
        # Not due yet: a runner coming by now leaves it alone.
        assert await runner.run_due() == 0
        await make_due(job_id)
    # The back-off grows with the attempts.
    assert run_ats[1] > run_ats[0]
    assert run_ats[1] >= timedelta(seconds=3)

    assert await runner.run_due() == 1
    parked = await get_job(job_id)
    assert parked.state == JobState.failed.value
    assert parked.attempts == 3
    assert "502" in (parked.last_error or "")
    assert parked.finished_at is not None
    assert len(calls) == 3
    # Parked jobs are not run again by themselves ...
    await make_due(job_id)
    assert await runner.run_due() == 0
    # ... but a person sees them and may retry.
    async with db.sessionmaker()() as session:
        assert [j.id for j in await jobs.failed_jobs(session)] == [job_id]
    async with db.unit_of_work() as session:
        await jobs.do_retry(session, job_id)
    assert await runner.run_due() == 1
    assert len(calls) == 4
    # Every attempt's own changes were rolled back.
    assert await count(Contact, Contact.name == "ghost") == 0


async def test_retry_later_uses_the_handlers_delay(client: httpx.AsyncClient, demo: Demo) -> None:
    job_id = await add_job("test.busy", {})
    before = utcnow()
    assert await Runner().run_due() == 1
    row = await get_job(job_id)
    assert row.state == JobState.pending.value
    assert row.last_error == "rate limited"
    assert row.run_at >= before + timedelta(seconds=590)


async def test_a_job_of_a_dead_runner_is_claimed_again(
    client: httpx.AsyncClient, demo: Demo
) -> None:
    now = utcnow()
    async with db.unit_of_work() as session:
        dead = Job(
            kind="test.record",
            payload={"n": 1},
            state=JobState.running.value,
            run_at=now - timedelta(minutes=10),
            attempts=1,
            locked_by="host-that-died:1",
            locked_until=now - timedelta(seconds=1),
        )
        alive = Job(
            kind="test.record",
            payload={"n": 2},
            state=JobState.running.value,
            run_at=now - timedelta(minutes=1),
            attempts=1,
            locked_by="busy-host:2",
            locked_until=now + timedelta(minutes=4),
        )
        session.add_all([dead, alive])
        await session.flush()
        dead_id, alive_id = dead.id, alive.id

    runner = Runner()
    assert await runner.claim() == [dead_id]
    claimed = await get_job(dead_id)
    assert claimed.locked_by == runner.name
    assert claimed.attempts == 2
    assert claimed.locked_until is not None and claimed.locked_until > utcnow()
    await runner.run_one(dead_id)
    assert (await get_job(dead_id)).state == JobState.done.value
    assert calls == [{"n": 1}]
    # The job still leased by a live runner was left alone.
    untouched = await get_job(alive_id)
    assert (untouched.state, untouched.locked_by) == (JobState.running.value, "busy-host:2")


async def test_concurrent_runners_never_share_a_job(
    client: httpx.AsyncClient, demo: Demo, settings: Settings
) -> None:
    if settings.is_sqlite:
        pytest.skip("SQLite runs a single runner; SKIP LOCKED claiming is PostgreSQL's")
    total = 0
    claimed: list[int] = []
    for round_ in range(5):
        async with db.unit_of_work() as session:
            for i in range(33):
                await jobs.enqueue(session, "test.record", {"round": round_, "i": i})
        total += 33
        runners = [Runner() for _ in range(3)]
        results = await asyncio.gather(*(r.claim() for r in runners))
        flat = [job_id for ids in results for job_id in ids]
        assert len(flat) == len(set(flat)), results
        claimed.extend(flat)
        # Whoever claimed a job holds its lease.
        async with db.sessionmaker()() as session:
            for runner, ids in zip(runners, results, strict=True):
                for job_id in ids:
                    row = await session.get(Job, job_id)
                    assert row is not None
                    assert row.locked_by == runner.name
                    assert row.attempts == 1
        # What was not claimed this time is claimed by the next runner, once.
        leftovers = await Runner().claim()
        assert not set(leftovers) & set(flat)
        claimed.extend(leftovers)
    assert len(claimed) == len(set(claimed)) == total
    assert await Runner().claim() == []


async def test_rolled_back_transaction_leaves_no_job(client: httpx.AsyncClient, demo: Demo) -> None:
    with pytest.raises(RuntimeError):
        async with db.unit_of_work() as session:
            await jobs.enqueue(session, "test.record", {"n": 1})
            await session.flush()
            raise RuntimeError("crash before commit")
    assert await count(Job) == 0
    assert await Runner().run_due() == 0
    assert calls == []


async def test_failed_reply_leaves_neither_message_nor_job(
    app: Any, client: httpx.AsyncClient, demo: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = await visitor(client)
    r = await client.post("/api/v1/widget/messages", json={"text": "Hi"}, headers=bearer(token))
    conv = r.json()["conversation_id"]
    agent = bearer(await staff_token(client, "agent@demo.omniline", "demo-agent"))
    events_before = await count(ConversationEvent)
    jobs_before = await count(Job)

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("crash after the job was written")

    # Fails after the message, its delivery job and its event were flushed.
    monkeypatch.setattr("omniline.conversations.service.notify.timeline_event", broken)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        r = await c.post(
            f"/api/v1/conversations/{conv}/messages", json={"text": "Lost?"}, headers=agent
        )
    assert r.status_code == 500
    assert r.json()["error"]["code"] == "internal_error"
    monkeypatch.undo()

    assert await count(Job) == jobs_before
    assert await count(Message, Message.text == "Lost?") == 0
    assert await count(ConversationEvent) == events_before
    view = (await client.get(f"/api/v1/conversations/{conv}", headers=agent)).json()
    assert view["status"] == "queued"
    assert view["assignee"] is None
    history = await client.get("/api/v1/widget/messages", headers=bearer(token))
    assert [m["text"] for m in history.json()["items"]] == ["Hi"]


async def test_a_database_outage_is_logged_once_by_the_runner_not_every_poll(
    client: httpx.AsyncClient, demo: Demo, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """bench/faults.py: a worker logged a 120-line traceback every second while PostgreSQL
    restarted. Now one line when the outage starts and one when it ends, and jobs run after."""
    await db.dispose_engine()
    db.init_engine(settings.model_copy(update={"database_url": NOWHERE}))
    runner = Runner(poll_seconds=0.02)
    caplog.clear()
    with caplog.at_level("INFO", logger="omniline.jobs.runner"):
        runner.start()
        try:
            await asyncio.sleep(0.5)
            down = [r for r in caplog.records if r.name == "omniline.jobs.runner"]
            assert [r.getMessage().split(" (")[0] for r in down] == [
                "job runner: the database is not answering"
            ]
            assert not any(r.exc_info for r in down)

            await db.dispose_engine()
            db.init_engine(settings)
            job_id = await add_job("test.record", {"n": 1})
            for _ in range(200):
                if (await get_job(job_id)).state == JobState.done.value:
                    break
                await asyncio.sleep(0.02)
        finally:
            await runner.stop()
    assert (await get_job(job_id)).state == JobState.done.value
    assert any("answers again" in r.getMessage() for r in caplog.records)


async def test_jobs_of_a_concurrent_kind_overlap_on_postgresql_and_others_keep_their_order(
    client: httpx.AsyncClient, demo: Demo, settings: Settings
) -> None:
    async with db.unit_of_work() as session:
        for i in range(3):
            await jobs.enqueue(session, "test.beside", {"i": i})
            await jobs.enqueue(session, "test.record", {"i": i})
    runner = Runner()
    try:
        assert await runner.run_due() == 6
    finally:
        await runner.stop()
    assert [c["i"] for c in calls if "i" in c] == [0, 1, 2]
    beside = [c for c in calls if "i" not in c]
    if settings.is_sqlite:  # one writer: one job at a time, in the order they fell due
        assert beside == [
            {"start": 0},
            {"end": 0},
            {"start": 1},
            {"end": 1},
            {"start": 2},
            {"end": 2},
        ]
    else:
        assert beside[:3] == [{"start": 0}, {"start": 1}, {"start": 2}]
    assert await count(Job, Job.state == JobState.done.value) == 6
