"""SLA clocks on conversations: start, satisfy, warn, breach exactly once, actions."""

from __future__ import annotations

import asyncio
from datetime import datetime

import httpx
from sqlalchemy import select

from omniline import db
from omniline.conversations.inbound import InboundMessage
from omniline.conversations.service import receive_inbound
from omniline.jobs.models import Job, JobState
from omniline.jobs.runner import Runner
from omniline.kit import hooks
from omniline.sla import jobs as sla_jobs
from omniline.sla import timers
from omniline.sla.models import SlaTimer
from tests.conftest import Demo
from tests.sla.conftest import (
    Clock,
    agent_headers,
    customer_writes,
    make_policy,
    sla_events,
)


async def timer_of(conv_id: int, target: str) -> SlaTimer:
    async with db.sessionmaker()() as session:
        found = await session.scalar(
            select(SlaTimer)
            .where(SlaTimer.conversation_id == conv_id, SlaTimer.target == target)
            .order_by(SlaTimer.id.desc())
        )
        assert found is not None, f"no {target} timer"
        return found


def when(value: str | None) -> datetime:
    assert value is not None
    return datetime.fromisoformat(value)


async def test_a_new_conversation_shows_its_countdown(
    client: httpx.AsyncClient, demo: Demo
) -> None:
    await make_policy(client, demo)
    _, conv_id = await customer_writes(client)
    agent = await agent_headers(client)
    conv = (await client.get(f"/api/v1/conversations/{conv_id}", headers=agent)).json()
    sla = conv["sla"]
    assert sla["target"] == "first_response"
    created = when(conv["created_at"])
    assert (when(sla["due_at"]) - created).total_seconds() == 600
    assert (when(sla["warn_at"]) - created).total_seconds() == 480
    assert sla["breached"] is False
    assert conv["sla_due_at"] == sla["due_at"]
    assert {t["target"] for t in sla["timers"] if t["open"]} == {"first_response", "resolution"}
    row = (await client.get("/api/v1/conversations", headers=agent)).json()["items"][0]
    assert row["sla_due_at"] == sla["due_at"]
    assert row["sla"]["target"] == "first_response"


async def test_each_conversation_of_a_batch_of_first_contacts_gets_its_clocks(
    client: httpx.AsyncClient, demo: Demo
) -> None:
    """The ingest stores concurrent first messages in one batch; the SLA listener handles
    the batch in one call, and each conversation still gets its own countdown and checks."""
    await make_policy(client, demo)
    async with db.unit_of_work() as session:
        received = await receive_inbound(
            session,
            [
                InboundMessage(
                    workspace_id=demo.workspace_id,
                    inbox_id=demo.inbox_id,
                    text="Is my loan approved?",
                    sender_address=f"batch-{i}",
                )
                for i in range(3)
            ],
        )
    conv_ids = {r.message.conversation_id for r in received}
    assert len(conv_ids) == 3
    agent = await agent_headers(client)
    rows = (await client.get("/api/v1/conversations?sort=due", headers=agent)).json()["items"]
    assert {r["id"] for r in rows} == conv_ids
    for row in rows:
        assert row["sla"]["target"] == "first_response"
        assert (when(row["sla_due_at"]) - when(row["created_at"])).total_seconds() == 600
    async with db.sessionmaker()() as session:
        checks = sorted(
            (j.payload["timer_id"], j.run_at)
            for j in await session.scalars(select(Job).where(Job.kind == timers.JOB_KIND))
        )
        clocks = await session.scalars(
            select(SlaTimer).where(SlaTimer.conversation_id.in_(conv_ids))
        )
        # A warning and a due check for each clock: first response and resolution of each.
        expected = sorted((t.id, at) for t in clocks for at in (t.warn_at, t.due_at))
    assert len(expected) == 12
    assert [(i, when(at.isoformat())) for i, at in checks] == [
        (i, when(at.isoformat())) for i, at in expected
    ]


async def test_breach_fires_exactly_once_when_the_runner_restarts_midway(
    client: httpx.AsyncClient,
    demo: Demo,
    clock: Clock,
    domain_events: list[hooks.DomainEvent],
) -> None:
    await make_policy(client, demo)
    _, conv_id = await customer_writes(client)
    first = await timer_of(conv_id, "first_response")

    clock.advance(601)
    # Runner A claims the due checks, then dies before running them.
    crashed = Runner()
    claimed = await crashed.claim()
    assert claimed, "the warning and due checks of the first response are due"
    assert await Runner().run_due() == 0  # leased: nobody else takes them meanwhile
    # A crash in the middle of a check keeps nothing of it.
    try:
        async with db.unit_of_work() as session:
            assert await timers.check(session, first.id) == "breached"
            raise RuntimeError("worker killed")
    except RuntimeError:
        pass
    assert await sla_events(conv_id) == []

    clock.advance(crashed.lease.total_seconds() + 1)
    restarted = Runner()
    assert await restarted.run_due() >= len(claimed)
    # And the same check once more, as a second runner might.
    async with db.unit_of_work() as session:
        await sla_jobs.sla_check(session, {"timer_id": first.id})
    assert await Runner().run_due() == 0

    events = await sla_events(conv_id)
    assert [(e.type, e.data["target"]) for e in events] == [("sla_breached", "first_response")]
    assert [e.type for e in domain_events] == ["sla.breached"]
    assert domain_events[0].data["conversation_id"] == conv_id
    assert domain_events[0].data["target"] == "first_response"
    assert domain_events[0].data["due_at"] == events[0].data["due_at"]
    async with db.sessionmaker()() as session:
        states = {j.state for j in await session.scalars(select(Job).where(Job.id.in_(claimed)))}
    assert states == {JobState.done.value}

    agent = await agent_headers(client)
    conv = (await client.get(f"/api/v1/conversations/{conv_id}", headers=agent)).json()
    assert "free-month" in conv["tags"]  # the breach action added the compensation tag
    assert conv["sla"]["breached"] is True
    assert conv["sla"]["target"] == "first_response"
    timeline = (await client.get(f"/api/v1/conversations/{conv_id}/events", headers=agent)).json()
    assert [e["type"] for e in timeline["items"]].count("sla_breached") == 1


async def test_a_check_committed_before_the_crash_is_not_repeated(
    client: httpx.AsyncClient, demo: Demo, clock: Clock
) -> None:
    await make_policy(client, demo)
    _, conv_id = await customer_writes(client)
    first = await timer_of(conv_id, "first_response")
    clock.advance(601)
    crashed = Runner()
    claimed = await crashed.claim()
    # The handler's work commits, then the worker dies before marking the job done.
    async with db.unit_of_work() as session:
        assert await timers.check(session, first.id) == "breached"
    clock.advance(crashed.lease.total_seconds() + 1)
    assert await Runner().run_due() >= len(claimed)
    assert [e.type for e in await sla_events(conv_id)] == ["sla_breached"]


async def test_two_runners_checking_at_once_fire_once(
    client: httpx.AsyncClient, demo: Demo, clock: Clock
) -> None:
    await make_policy(client, demo)
    _, conv_id = await customer_writes(client)
    first = await timer_of(conv_id, "first_response")
    clock.advance(601)

    async def check() -> str | None:
        async with db.unit_of_work() as session:
            return await timers.check(session, first.id)

    results = await asyncio.gather(*(check() for _ in range(4)), return_exceptions=True)
    # On SQLite a loser may fail to write (its job is retried and then finds it done).
    assert [r for r in results if r == "breached"] == ["breached"]
    assert all(r is None or isinstance(r, Exception) for r in results if r != "breached")
    assert [e.type for e in await sla_events(conv_id)] == ["sla_breached"]


async def test_a_reply_before_the_due_time_cancels_the_breach(
    client: httpx.AsyncClient, demo: Demo, clock: Clock
) -> None:
    await make_policy(client, demo)
    _, conv_id = await customer_writes(client)
    agent = await agent_headers(client)
    clock.advance(300)
    r = await client.post(
        f"/api/v1/conversations/{conv_id}/messages", json={"text": "Hello!"}, headers=agent
    )
    assert r.status_code == 201
    clock.advance(400)
    await Runner().run_due()
    assert await sla_events(conv_id) == []
    first = await timer_of(conv_id, "first_response")
    assert first.satisfied_at is not None and first.breached_at is None
    conv = (await client.get(f"/api/v1/conversations/{conv_id}", headers=agent)).json()
    # The resolution clock is what is due now.
    assert conv["sla"]["target"] == "resolution"
    assert "free-month" not in conv["tags"]


async def test_a_private_note_does_not_answer_the_customer(
    client: httpx.AsyncClient, demo: Demo, clock: Clock
) -> None:
    await make_policy(client, demo)
    _, conv_id = await customer_writes(client)
    agent = await agent_headers(client)
    r = await client.post(
        f"/api/v1/conversations/{conv_id}/messages",
        json={"text": "checking", "private": True},
        headers=agent,
    )
    assert r.status_code == 201
    clock.advance(601)
    await Runner().run_due()
    assert [e.data["target"] for e in await sla_events(conv_id)] == ["first_response"]


async def test_next_response_warns_then_breaches(
    client: httpx.AsyncClient, demo: Demo, clock: Clock
) -> None:
    await make_policy(client, demo)
    token, conv_id = await customer_writes(client)
    agent = await agent_headers(client)
    await client.post(
        f"/api/v1/conversations/{conv_id}/messages", json={"text": "Hi!"}, headers=agent
    )
    await customer_writes(client, "And the rate?", token=token)
    nxt = await timer_of(conv_id, "next_response")
    assert (nxt.due_at - nxt.started_at).total_seconds() == 300
    clock.advance(241)
    await Runner().run_due()
    clock.advance(60)
    await Runner().run_due()
    events = [(e.type, e.data["target"]) for e in await sla_events(conv_id)]
    assert events == [("sla_warning", "next_response"), ("sla_breached", "next_response")]
    # Answering stops the clock; the next customer message starts a new one.
    await client.post(
        f"/api/v1/conversations/{conv_id}/messages", json={"text": "2%"}, headers=agent
    )
    assert (await timer_of(conv_id, "next_response")).satisfied_at is not None


async def test_resolving_stops_every_clock_and_reopening_restarts_resolution(
    client: httpx.AsyncClient, demo: Demo, clock: Clock
) -> None:
    await make_policy(client, demo)
    _, conv_id = await customer_writes(client)
    agent = await agent_headers(client)
    assert (await client.post(f"/api/v1/conversations/{conv_id}/resolve", headers=agent)).is_success
    clock.advance(7200)
    await Runner().run_due()
    assert await sla_events(conv_id) == []
    conv = (await client.get(f"/api/v1/conversations/{conv_id}", headers=agent)).json()
    assert conv["sla"]["due_at"] is None
    assert not [t for t in conv["sla"]["timers"] if t["open"]]

    assert (await client.post(f"/api/v1/conversations/{conv_id}/reopen", headers=agent)).is_success
    resolution = await timer_of(conv_id, "resolution")
    assert resolution.satisfied_at is None
    assert (resolution.due_at - resolution.started_at).total_seconds() == 3600


async def test_transfer_to_a_queue_without_policy_stops_the_clocks(
    client: httpx.AsyncClient, demo: Demo
) -> None:
    await make_policy(client, demo)
    _, conv_id = await customer_writes(client)
    admin_login = await client.post(
        "/api/v1/auth/login", json={"email": "admin@demo.omniline", "password": "demo-admin"}
    )
    admin = {"Authorization": f"Bearer {admin_login.json()['access_token']}"}
    r = await client.post(
        f"/api/v1/conversations/{conv_id}/transfer",
        json={"queue_id": demo.queues["Tech support"], "note": "for tech"},
        headers=admin,
    )
    assert r.status_code == 200, r.text
    conv = (await client.get(f"/api/v1/conversations/{conv_id}", headers=admin)).json()
    assert conv["sla"]["due_at"] is None
    assert {t["cancelled_at"] is not None for t in conv["sla"]["timers"]} == {True}


async def test_the_list_sorts_by_due_time_with_keyset_pages(
    client: httpx.AsyncClient, demo: Demo
) -> None:
    await make_policy(client, demo)
    _, answered = await customer_writes(client, "first")
    _, waiting = await customer_writes(client, "second")
    _, no_sla = await customer_writes(client, "third")
    agent = await agent_headers(client)
    admin_login = await client.post(
        "/api/v1/auth/login", json={"email": "admin@demo.omniline", "password": "demo-admin"}
    )
    admin = {"Authorization": f"Bearer {admin_login.json()['access_token']}"}
    r = await client.post(
        f"/api/v1/conversations/{no_sla}/transfer",
        json={"queue_id": demo.queues["Tech support"], "note": ""},
        headers=admin,
    )
    assert r.status_code == 200
    await client.post(
        f"/api/v1/conversations/{answered}/messages", json={"text": "Hi"}, headers=agent
    )

    order, cursor = [], None
    while True:
        params = {"sort": "due", "limit": "1", **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/api/v1/conversations", params=params, headers=admin)).json()
        order += [(i["id"], i["sla"]["target"] if i["sla"] else None) for i in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert order == [(waiting, "first_response"), (answered, "resolution"), (no_sla, None)]
    newest = (await client.get("/api/v1/conversations", headers=admin)).json()["items"]
    assert newest[0]["id"] == answered  # the default stays newest activity first


async def test_due_pages_run_from_timed_conversations_into_untimed_ones_by_id(
    client: httpx.AsyncClient, demo: Demo
) -> None:
    untimed = [(await customer_writes(client, f"before {i}"))[1] for i in range(3)]
    await make_policy(client, demo)
    timed = [(await customer_writes(client, f"after {i}"))[1] for i in range(2)]
    admin_login = await client.post(
        "/api/v1/auth/login", json={"email": "admin@demo.omniline", "password": "demo-admin"}
    )
    admin = {"Authorization": f"Bearer {admin_login.json()['access_token']}"}
    for limit in ("1", "3", "10"):  # pages inside, across and past the boundary
        order, cursor = [], None
        while True:
            params = {"sort": "due", "limit": limit, **({"cursor": cursor} if cursor else {})}
            page = (await client.get("/api/v1/conversations", params=params, headers=admin)).json()
            order += [i["id"] for i in page["items"] if i["id"] in untimed + timed]
            cursor = page["next_cursor"]
            if not cursor:
                break
        assert order == timed + sorted(untimed), limit
