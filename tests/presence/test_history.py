"""The agents' state history (presence/history.py): what starts and ends an interval."""

from __future__ import annotations

import asyncio
import itertools
from datetime import timedelta

import pytest
from sqlalchemy import delete, select

from omniline import db
from omniline.auth import service as users
from omniline.auth.principal import Principal
from omniline.config import Settings
from omniline.conversations import service as conversations
from omniline.kit import hooks
from omniline.kit.clock import utcnow
from omniline.migrate import alembic_config
from omniline.presence import history, service
from omniline.presence.models import PresenceInterval
from tests.conftest import Demo
from tests.presence.helpers import add_waiting, convs, make_agent, set_presence


@pytest.fixture(autouse=True)
def listening() -> None:
    history.register()


def admin_of(demo: Demo) -> Principal:
    return Principal(demo.users["admin"], demo.workspace_id, "admin", "Alex", "a@x", "en", None)


async def timeline(user_id: int) -> list[tuple[str, bool, bool]]:
    """(status, handling, open) of the agent's intervals, oldest first."""
    async with db.sessionmaker()() as session:
        rows = await session.scalars(
            select(PresenceInterval)
            .where(PresenceInterval.user_id == user_id)
            .order_by(PresenceInterval.started_at, PresenceInterval.id)
        )
        return [(r.status, r.handling, r.ended_at is None) for r in rows]


async def assign(demo: Demo, conv_id: int, user_id: int) -> None:
    async with db.unit_of_work() as session:
        await conversations.do_assign(session, admin_of(demo), conv_id, user_id)


async def test_each_status_change_is_an_interval(demo: Demo) -> None:
    q = demo.queues["First line"]
    a = await make_agent(demo, "Ann", [q])
    assert await timeline(a) == []  # never online: no row, offline
    await set_presence(demo, a, "online")
    await set_presence(demo, a, "online")  # no change, no row
    await set_presence(demo, a, "on_call")
    await set_presence(demo, a, "wrap_up")
    await set_presence(demo, a, "away")
    await set_presence(demo, a, "offline")
    assert await timeline(a) == [
        ("online", False, False),
        ("on_call", False, False),
        ("wrap_up", False, False),
        ("away", False, False),
        ("offline", False, True),
    ]
    async with db.sessionmaker()() as session:
        rows = list(
            await session.scalars(
                select(PresenceInterval)
                .where(PresenceInterval.user_id == a)
                .order_by(PresenceInterval.started_at)
            )
        )
    # Contiguous: each interval ends where the next begins.
    for before, after in itertools.pairwise(rows):
        assert before.ended_at == after.started_at


async def test_a_chat_taken_from_an_agent_ends_their_handling(demo: Demo) -> None:
    q = demo.queues["First line"]
    a, b = await make_agent(demo, "Ann", [q]), await make_agent(demo, "Bob", [q])
    await set_presence(demo, a, "online")
    await set_presence(demo, b, "online")
    (chat,) = await add_waiting(demo, q)
    await assign(demo, chat, a)
    await assign(demo, chat, b)  # reassigned: the event names Ann as the previous assignee
    assert await timeline(a) == [
        ("online", False, False),
        ("online", True, False),
        ("online", False, True),
    ]
    assert await timeline(b) == [("online", False, False), ("online", True, True)]


async def test_a_letter_is_not_handling(demo: Demo) -> None:
    q = demo.queues["First line"]
    a = await make_agent(demo, "Ann", [q])
    await set_presence(demo, a, "online")
    (letter,) = await add_waiting(demo, q, channel="email")
    await assign(demo, letter, a)
    assert await timeline(a) == [("online", False, True)]


async def test_going_offline_hands_chats_back_in_one_interval(demo: Demo) -> None:
    q = demo.queues["First line"]
    a = await make_agent(demo, "Ann", [q])
    await set_presence(demo, a, "online")
    chats = await add_waiting(demo, q, 2)
    for c in chats:
        await assign(demo, c, a)
    await set_presence(demo, a, "offline")
    # The requeues and the status change share one transaction: one row, not a row a few
    # microseconds long between them.
    assert await timeline(a) == [
        ("online", False, False),
        ("online", True, False),
        ("offline", False, True),
    ]
    assert all(c.assignee_id is None for c in (await convs(*chats)).values())


async def test_a_deactivated_agent_goes_offline(demo: Demo) -> None:
    q = demo.queues["First line"]
    a = await make_agent(demo, "Ann", [q])
    await set_presence(demo, a, "online")
    (chat,) = await add_waiting(demo, q)
    await assign(demo, chat, a)
    async with db.unit_of_work() as session:
        await users.do_admin_update_user(
            session, admin_of(demo), a, name="Ann", role="agent", locale="en", active=False
        )
    assert await timeline(a) == [
        ("online", False, False),
        ("online", True, False),
        ("offline", False, True),
    ]
    async with db.sessionmaker()() as session:
        view = await service.presence_view(session, demo.workspace_id, a)
    assert view["status"] == "offline"
    assert (await convs(chat))[chat].assignee_id is None


async def test_an_agent_who_never_went_online_gets_a_row_when_given_a_chat(demo: Demo) -> None:
    q = demo.queues["First line"]
    a = await make_agent(demo, "Ann", [q])
    (chat,) = await add_waiting(demo, q)
    await assign(demo, chat, a)  # a supervisor may give a chat to an offline agent
    assert await timeline(a) == [("offline", True, True)]
    async with db.unit_of_work() as session:
        await conversations.do_resolve(session, admin_of(demo), chat)
    assert await timeline(a) == [("offline", True, False), ("offline", False, True)]


async def test_concurrent_changes_of_one_agent_leave_one_open_interval(demo: Demo) -> None:
    q = demo.queues["First line"]
    a = await make_agent(demo, "Ann", [q])
    await set_presence(demo, a, "online")
    chats = await add_waiting(demo, q, 4)
    # Four transactions at once give Ann a chat each: on PostgreSQL they wait for each
    # other on her open interval; on SQLite on the database's write lock.
    await asyncio.gather(*(assign(demo, c, a) for c in chats))
    got = await timeline(a)
    assert [row for row in got if row[2]] == [("online", True, True)]
    assert got == [("online", False, False), ("online", True, True)]


async def test_the_upgrade_opens_intervals_for_agents_who_are_on(
    demo: Demo, settings: Settings
) -> None:
    from alembic import command

    q = demo.queues["First line"]
    a, b = await make_agent(demo, "Ann", [q]), await make_agent(demo, "Bob", [q])
    await set_presence(demo, a, "online")
    (chat,) = await add_waiting(demo, q)
    await assign(demo, chat, a)
    await set_presence(demo, b, "away")
    async with db.unit_of_work() as session:
        await session.execute(delete(PresenceInterval))
    before = utcnow()
    cfg = alembic_config(settings.database_url)
    await asyncio.to_thread(command.downgrade, cfg, "0128_analytics_agents")
    await asyncio.to_thread(command.upgrade, cfg, "heads")
    async with db.sessionmaker()() as session:
        rows = {
            r.user_id: r
            for r in await session.scalars(select(PresenceInterval).order_by(PresenceInterval.id))
        }
    # Ann online with a chat, Bob away; the demo's staff never set a status (offline): none.
    assert {u: (r.status, r.handling, r.ended_at) for u, r in rows.items()} == {
        a: ("online", True, None),
        b: ("away", False, None),
    }
    assert before - timedelta(seconds=1) <= rows[a].started_at <= utcnow()


async def test_two_transactions_touching_two_agents_in_opposite_orders(
    demo: Demo, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One transaction gives Ann a chat, then Bob; another gives Bob one, then Ann. Locking an
    agent's history at each change would deadlock them; the history is written at commit,
    in the order of agent ids, so one waits for the other."""
    if backend != "postgres":
        pytest.skip("SQLite has one writer: a second write transaction waits for the first")
    # Only the history's listeners: other domains' (the analytics roll-up of the same bucket
    # and queue) make the second transaction wait for the first by themselves.
    monkeypatch.setattr(hooks, "_listeners", {})
    history.register()
    q = demo.queues["First line"]
    a, b = await make_agent(demo, "Ann", [q]), await make_agent(demo, "Bob", [q])
    await set_presence(demo, a, "online")
    await set_presence(demo, b, "online")
    x, y, z, w = await add_waiting(demo, q, 4)
    admin = admin_of(demo)
    first, second = db.sessionmaker()(), db.sessionmaker()()
    try:
        # No step may wait: a lock taken at a change would stop the third step for good.
        for session, conv, agent in ((first, x, a), (second, z, b), (first, y, b), (second, w, a)):
            await asyncio.wait_for(conversations.do_assign(session, admin, conv, agent), 10)
        await asyncio.wait_for(asyncio.gather(db.commit(first), db.commit(second)), 10)
    finally:
        await first.close()
        await second.close()
    for agent in (a, b):
        assert await timeline(agent) == [("online", False, False), ("online", True, True)]


async def test_several_agents_changed_in_one_transaction(demo: Demo) -> None:
    """A voice controller's batch changes many agents at once (PostgreSQL writes them all in
    five statements): each gets exactly the intervals it would get one by one."""
    q = demo.queues["First line"]
    a = await make_agent(demo, "Ann", [q])
    b = await make_agent(demo, "Bob", [q])
    c = await make_agent(demo, "Cid", [q])
    async with db.unit_of_work() as session:
        for user in (a, b):
            await service.do_set_presence(session, demo.workspace_id, user, "online")
    async with db.unit_of_work() as session:
        await service.do_set_presence(session, demo.workspace_id, a, "on_call")
        await service.do_set_presence(session, demo.workspace_id, b, "offline")
        await service.do_set_presence(session, demo.workspace_id, c, "online")  # first row
    async with db.unit_of_work() as session:
        await service.do_set_presence(session, demo.workspace_id, a, "online")
        await service.do_set_presence(session, demo.workspace_id, c, "online")  # no change
    assert await timeline(a) == [
        ("online", False, False),
        ("on_call", False, False),
        ("online", False, True),
    ]
    assert await timeline(b) == [("online", False, False), ("offline", False, True)]
    assert await timeline(c) == [("online", False, True)]
