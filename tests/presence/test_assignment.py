"""The assignment engine on a real database: order, strategies, capacity, requeue, acceptance."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from omniline import db
from omniline.conversations.models import Conversation
from omniline.jobs.models import Job
from omniline.kit.clock import utcnow
from omniline.presence import assignment
from omniline.presence.models import Offer, QueueRouting
from tests.conftest import Demo
from tests.presence.helpers import (
    add_waiting,
    convs,
    events_of,
    make_agent,
    open_load,
    run,
    run_jobs,
    set_presence,
)


async def _queue(demo: Demo, name: str = "Tech support") -> int:
    return demo.queues[name]


async def _routing(demo: Demo, queue_id: int, **values: object) -> None:
    async with db.unit_of_work() as session:
        row = await session.get(QueueRouting, queue_id)
        if row is None:
            row = QueueRouting(queue_id=queue_id, workspace_id=demo.workspace_id)
            session.add(row)
        for k, v in values.items():
            setattr(row, k, v)


async def test_priority_first_then_longest_waiting(demo: Demo) -> None:
    q = await _queue(demo)
    agent = await make_agent(demo, "Olga", [q], chat=3)
    await set_presence(demo, agent, "online")
    old = await add_waiting(demo, q, waited_seconds=600)
    new = await add_waiting(demo, q, waited_seconds=10)
    urgent = await add_waiting(demo, q, priority=5, waited_seconds=1)
    newest = await add_waiting(demo, q)
    made = await run(demo, q)
    assert [a.conversation_id for a in made] == [urgent[0], old[0], new[0]]
    assert (await convs(newest[0]))[newest[0]].assignee_id is None
    assert await open_load(agent) == 3


async def test_longest_idle_spreads_and_never_exceeds_capacity(demo: Demo) -> None:
    q = await _queue(demo)
    a = await make_agent(demo, "Ann", [q], chat=2)
    b = await make_agent(demo, "Ben", [q], chat=2)
    await set_presence(demo, a, "online")
    await set_presence(demo, b, "online")
    ids = await add_waiting(demo, q, 5, waited_seconds=60)
    made = await run(demo, q)
    assert [m.user_id for m in made] == [a, b, a, b]  # Ann came online first
    assert await open_load(a) == 2 and await open_load(b) == 2
    assert (await convs(ids[4]))[ids[4]].status == "queued"


async def test_offline_and_non_members_get_nothing(demo: Demo) -> None:
    q = await _queue(demo)
    away = await make_agent(demo, "Away", [q])
    other = await make_agent(demo, "Other queue", [demo.queues["First line"]])
    await set_presence(demo, away, "away")
    await set_presence(demo, other, "online")
    await add_waiting(demo, q, 2)
    assert await run(demo, q) == []


async def test_round_robin_then_least_loaded(demo: Demo) -> None:
    q = await _queue(demo)
    a = await make_agent(demo, "Busy", [q])
    b = await make_agent(demo, "Free", [q])
    for u in (b, a):  # Free has been idle longer; round robin ignores that
        await set_presence(demo, u, "online")
    first = await add_waiting(demo, q, 3, waited_seconds=100)
    await _routing(demo, q, strategy="round_robin", auto_assign=False)
    assert await run(demo, q) == []  # auto assignment off
    await _routing(demo, q, auto_assign=True)
    assert [m.user_id for m in await run(demo, q)] == [a, b, a]
    async with db.unit_of_work() as session:  # Busy's two chats are resolved
        await session.execute(
            update(Conversation)
            .where(Conversation.id.in_([first[0], first[2]]))
            .values(status="resolved")
        )
    await _routing(demo, q, strategy="least_loaded")
    await add_waiting(demo, q, 1, channel="telegram")
    assert [m.user_id for m in await run(demo, q)] == [a]


async def test_email_counts_against_email_capacity_only(demo: Demo) -> None:
    q = await _queue(demo)
    a = await make_agent(demo, "Mila", [q], chat=1, email=2)
    await set_presence(demo, a, "online")
    await add_waiting(demo, q, 2, waited_seconds=100)
    mails = await add_waiting(demo, q, 3, channel="email", waited_seconds=50)
    made = await run(demo, q)
    assert len(made) == 3  # one chat, two letters
    got = await convs(*mails)
    assert sorted(c.assignee_id is not None for c in got.values()) == [False, True, True]


async def test_going_offline_requeues_chats_not_email(demo: Demo) -> None:
    q = await _queue(demo)
    a = await make_agent(demo, "Leaving", [q])
    b = await make_agent(demo, "Staying", [q])
    await set_presence(demo, a, "online")
    chats = await add_waiting(demo, q, 2, waited_seconds=100)
    mail = await add_waiting(demo, q, 1, channel="email", waited_seconds=100)
    await run(demo, q)
    assert {c.assignee_id for c in (await convs(*chats, *mail)).values()} == {a}
    await set_presence(demo, b, "online")
    await set_presence(demo, a, "offline")
    after = await convs(*chats, *mail)
    assert all(after[c].status == "queued" and after[c].assignee_id is None for c in chats)
    assert after[mail[0]].assignee_id == a
    assert "requeued" in [e.type for e in await events_of(chats[0])]
    # The requeue wrote an assign_queue job; running it hands both chats to Staying.
    await run_jobs()
    after = await convs(*chats)
    assert {c.assignee_id for c in after.values()} == {b}


async def test_away_keeps_chats_unless_configured(demo: Demo) -> None:
    q = await _queue(demo)
    a = await make_agent(demo, "Coffee", [q])
    await set_presence(demo, a, "online")
    ids = await add_waiting(demo, q, 1)
    await run(demo, q)
    await set_presence(demo, a, "away")
    assert (await convs(*ids))[ids[0]].assignee_id == a


async def test_jobs_are_coalesced_per_queue(demo: Demo) -> None:
    q = await _queue(demo)
    a = await make_agent(demo, "Zoe", [q])
    b = await make_agent(demo, "Yan", [q])
    await set_presence(demo, a, "online")
    await set_presence(demo, b, "online")
    async with db.sessionmaker()() as session:
        pending = [
            j
            for j in await session.scalars(select(Job).where(Job.kind == "assign_queue"))
            if j.state == "pending" and j.payload == {"queue_id": q}
        ]
    assert len(pending) == 1


async def test_acceptance_timeout_requeues_and_accept_keeps(demo: Demo) -> None:
    q = await _queue(demo)
    await _routing(demo, q, requires_acceptance=True, acceptance_seconds=30)
    a = await make_agent(demo, "Slow", [q])
    await set_presence(demo, a, "online")
    slow, fast = await add_waiting(demo, q, 2, waited_seconds=100)
    await run(demo, q)
    async with db.sessionmaker()() as session:
        offers = {o.conversation_id: o for o in await session.scalars(select(Offer))}
    assert set(offers) == {slow, fast}
    # Accept one through the API path's service.
    from omniline.auth.principal import Principal
    from omniline.presence import manual

    p = Principal(a, demo.workspace_id, "agent", "Slow", "slow@demo.omniline", "en", frozenset({q}))
    async with db.unit_of_work() as session:
        await manual.do_accept(session, p, fast)
    # Not yet due: nothing happens.
    await run_jobs()
    assert (await convs(slow))[slow].assignee_id == a
    async with db.unit_of_work() as session:
        await session.execute(
            update(Job)
            .where(Job.kind == "acceptance_timeout")
            .values(run_at=utcnow() - timedelta(seconds=1))
        )
    # Nobody else is online, so the runner's follow-up assign gives it back to Slow:
    # go offline-proof by making Slow away first.
    await set_presence(demo, a, "away")
    await run_jobs()
    got = await convs(slow, fast)
    assert got[slow].status == "queued" and got[slow].assignee_id is None
    assert got[fast].assignee_id == a
    types = [e.type for e in await events_of(slow)]
    assert types[-1] == "requeued"
    assert "accepted" in [e.type for e in await events_of(fast)]


async def test_least_loaded_reads_a_page_and_still_spreads(
    demo: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pages of two agents: whoever got one leaves the page, so the unread ones come next."""
    monkeypatch.setattr(assignment, "PAGE", 2)
    q = await _queue(demo)
    agents = [await make_agent(demo, f"Agent {i}", [q], chat=3) for i in range(4)]
    for u in agents:  # the first one online has been idle longest
        await set_presence(demo, u, "online")
    await _routing(demo, q, strategy="least_loaded")
    await add_waiting(demo, q, 6, waited_seconds=60)
    made = [m.user_id for m in await run(demo, q)]
    assert made[:4] == agents
    assert sorted(made[4:]) == sorted(agents[:2])  # then the longest idle of equal loads
    assert [await open_load(u) for u in agents] == [2, 2, 1, 1]
