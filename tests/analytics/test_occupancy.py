"""Occupancy (docs/metrics.md) from hand-written state intervals, counted by hand, and from
presence and conversation changes made through the services.

The workspace is in Europe/Kyiv: +02:00 until 2026-03-29 01:00 UTC, then +03:00 (the clocks
jump from 03:00 to 04:00 local, so 2026-03-29 has 23 hours and runs from 2026-03-28 22:00 to
2026-03-29 21:00 UTC). Times below are UTC unless they say "local".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from omniline import db
from omniline.analytics import service
from omniline.analytics.schemas import Filters
from omniline.auth import service as users
from omniline.auth.principal import Principal
from omniline.contacts.models import Contact
from omniline.conversations import service as conversations
from omniline.conversations.models import Conversation
from omniline.kit.clock import utcnow
from omniline.presence import history
from omniline.presence import service as presence
from omniline.presence.models import PresenceInterval
from omniline.workspaces import service as workspaces
from omniline.workspaces.models import Team, Workspace
from tests.conftest import Demo
from tests.presence.helpers import add_waiting

DST_DAY = date(2026, 3, 29)


def t(day: int, h: int, m: int = 0, s: int = 0, month: int = 3) -> datetime:
    return datetime(2026, month, day, h, m, s, tzinfo=UTC)


@dataclass
class Floor:
    workspace_id: int
    anna: int
    boris: int
    clara: int
    night_desk: int  # Anna's team
    support: int  # the demo's team: Anna, Boris and the other demo staff, not Clara


async def _kyiv(session: Any, demo: Demo) -> None:
    await session.execute(
        update(Workspace).where(Workspace.id == demo.workspace_id).values(timezone="Europe/Kyiv")
    )


def interval(
    ws: int, user: int, status: str, start: datetime, end: datetime | None, handling: bool = False
) -> PresenceInterval:
    return PresenceInterval(
        workspace_id=ws,
        user_id=user,
        status=status,
        handling=handling,
        started_at=start,
        ended_at=end,
    )


@pytest.fixture
async def floor(demo: Demo) -> Floor:
    ws = demo.workspace_id
    anna, boris = demo.users["agent"], demo.users["agent2"]
    async with db.unit_of_work() as session:
        await _kyiv(session, demo)
        clara = await users.do_create_user(
            session,
            workspace_id=ws,
            email="clara@demo.omniline",
            name="Clara Agent",
            password="agent-password",
            role="agent",
        )
        desk = await workspaces.do_create_team(session, ws, "Night desk")
        await workspaces.do_set_team_members(session, ws, desk.id, [anna])
        session.add_all(
            [
                # Anna: online from 20:00 on the 28th across the day's start (22:00), with a
                # chat 23:00-23:30, away 23:30-00:30, a chat again 00:30-01:30 across the DST
                # jump at 01:00 (local 02:30 -> 04:30: one hour of time, two on the clock),
                # then offline (open).
                interval(ws, anna, "online", t(28, 20), t(28, 23)),
                interval(ws, anna, "online", t(28, 23), t(28, 23, 30), handling=True),
                interval(ws, anna, "away", t(28, 23, 30), t(29, 0, 30)),
                interval(ws, anna, "online", t(29, 0, 30), t(29, 1, 30), handling=True),
                interval(ws, anna, "offline", t(29, 1, 30), None),
                # Boris on the phone, off the quarter hours: a 600 s call and 120 s of wrap-up
                # with no conversation flag (the phone states are busy by themselves), then
                # 2,880 s online and idle, across 07:00 (local 10:00).
                interval(ws, boris, "on_call", t(29, 6, 3, 20), t(29, 6, 13, 20)),
                interval(ws, boris, "wrap_up", t(29, 6, 13, 20), t(29, 6, 15, 20)),
                interval(ws, boris, "online", t(29, 6, 15, 20), t(29, 7, 3, 20)),
                interval(ws, boris, "offline", t(29, 7, 3, 20), None),
                # Clara was only away: no staffed time.
                interval(ws, clara.id, "away", t(29, 8), t(29, 12)),
                interval(ws, clara.id, "offline", t(29, 12), None),
            ]
        )
        # Clara resolved one chat on the day, so she has a row of her own in the leaderboard.
        contact = Contact(workspace_id=ws, name="Customer")
        session.add(contact)
        await session.flush()
        session.add(
            Conversation(
                workspace_id=ws,
                inbox_id=demo.inbox_id,
                channel="webchat",
                contact_id=contact.id,
                status="resolved",
                assignee_id=clara.id,
                created_at=t(29, 10),
                last_activity_at=t(29, 10, 20),
                resolved_at=t(29, 10, 20),
                tags=[],
            )
        )
        support_id = await session.scalar(
            select(Team.id).where(Team.workspace_id == ws, Team.name == "Support team")
        )
        assert support_id is not None
    return Floor(ws, anna, boris, clara.id, desk.id, support_id)


async def _summary(f: Floor, start: date, end: date, by: Any = "day", **filters: Any) -> Any:
    async with db.unit_of_work() as session:
        return await service.summary(
            session,
            f.workspace_id,
            start=start,
            end=end,
            by=by,
            filters=Filters(**filters) if filters else None,
        )


async def _breakdown(f: Floor, dimension: Any, **filters: Any) -> dict[Any, dict[str, Any]]:
    async with db.unit_of_work() as session:
        rows = await service.breakdown(
            session,
            f.workspace_id,
            start=DST_DAY,
            end=DST_DAY,
            dimension=dimension,
            filters=Filters(**filters) if filters else None,
        )
    return {r["key"]: r for r in rows}


async def test_the_dst_day_by_agent(floor: Floor) -> None:
    rows = await _breakdown(floor, "agent")
    # Anna: staffed 22:00-23:00 (the part of her first interval inside the day) 3,600 s +
    # 1,800 s + 3,600 s = 9,000 s; busy 1,800 + 3,600 = 5,400 s; away and offline count in
    # neither. 5,400 / 9,000 = 0.6.
    assert rows[floor.anna]["metrics"]["occupancy"] == 0.6
    assert rows[floor.anna]["label"] == "Anna Agent"
    # Idle agents have rows for their occupancy, with no conversation.
    assert rows[floor.anna]["metrics"]["conversations"] == 0
    # Boris: busy 600 + 120 = 720 s of 600 + 120 + 2,880 = 3,600 s staffed: 0.2.
    assert rows[floor.boris]["metrics"]["occupancy"] == 0.2
    # Clara: no available time: null, not 0.
    assert rows[floor.clara]["metrics"]["occupancy"] is None
    assert rows[floor.clara]["metrics"]["conversations"] == 1
    # The busiest (by conversations) first, then by name.
    assert list(rows) == [floor.clara, floor.anna, floor.boris]


async def test_the_dst_day_by_team_and_in_total(floor: Floor) -> None:
    rows = await _breakdown(floor, "team")
    # A team is the sum of its members' seconds: Night desk is Anna alone (0.6); the demo's
    # Support team has Anna and Boris (and colleagues with no history):
    # (5,400 + 720) / (9,000 + 3,600) = 6,120 / 12,600 = 0.48571...
    assert rows[floor.night_desk]["metrics"]["occupancy"] == 0.6
    assert rows[floor.support]["metrics"]["occupancy"] == 0.4857
    # Clara's chat has no queue, hence no team: that row has no occupancy.
    assert rows[None]["metrics"]["occupancy"] is None
    day = await _summary(floor, DST_DAY, DST_DAY)
    assert day["total"]["occupancy"] == 0.4857
    assert day["periods"]["2026-03-29"]["occupancy"] == 0.4857


async def test_an_interval_across_the_edge_of_the_period(floor: Floor) -> None:
    got = await _summary(floor, date(2026, 3, 28), date(2026, 3, 30))
    # Anna's first interval (20:00-23:00) is cut at the local midnight (22:00): 7,200 s
    # idle on the 28th, and 3,600 s on the 29th (above). Nobody worked on the 30th.
    assert got["periods"]["2026-03-28"]["occupancy"] == 0.0
    assert got["periods"]["2026-03-29"]["occupancy"] == 0.4857
    assert got["periods"]["2026-03-30"]["occupancy"] is None
    # Three days: (5,400 + 720) / (7,200 + 12,600) = 6,120 / 19,800 = 0.30909...
    assert got["total"]["occupancy"] == 0.3091


async def test_hours_of_the_dst_day(floor: Floor) -> None:
    got = await _summary(floor, DST_DAY, DST_DAY, by="hour")
    hours = got["periods"]
    assert len(hours) == 23
    occ = {k: v["occupancy"] for k, v in hours.items() if v["occupancy"] is not None}
    assert occ == {
        # 22:00-23:00: Anna idle.
        "2026-03-29T00:00:00+02:00": 0.0,
        # 23:00-00:00: her chat 23:00-23:30, then away.
        "2026-03-29T01:00:00+02:00": 1.0,
        # 00:00-01:00: away, then the chat from 00:30.
        "2026-03-29T02:00:00+02:00": 1.0,
        # 01:00-02:00 (there is no local 03:00): the chat's second half, 01:00-01:30.
        "2026-03-29T04:00:00+03:00": 1.0,
        # 06:00-07:00: Boris busy 720 s of 600 + 120 + (07:00 - 06:15:20 = 2,680) = 3,400 s.
        "2026-03-29T09:00:00+03:00": 0.2118,
        # 07:00-07:03:20: 200 s idle.
        "2026-03-29T10:00:00+03:00": 0.0,
    }


async def test_filters(floor: Floor) -> None:
    # Agent and team filters pick agents.
    anna = await _summary(floor, DST_DAY, DST_DAY, agent_id=floor.anna)
    assert anna["total"]["occupancy"] == 0.6
    clara = await _summary(floor, DST_DAY, DST_DAY, agent_id=floor.clara)
    assert clara["total"]["occupancy"] is None
    desk = await _summary(floor, DST_DAY, DST_DAY, team_id=floor.night_desk)
    assert desk["total"]["occupancy"] == 0.6
    # A conversation filter cannot split an agent's time: null rather than a wrong figure.
    chat = await _summary(floor, DST_DAY, DST_DAY, channel="webchat")
    assert chat["total"]["occupancy"] is None
    rows = await _breakdown(floor, "agent", channel="webchat")
    assert all(r["metrics"]["occupancy"] is None for r in rows.values())
    assert floor.anna not in rows  # no row for her time alone
    # Other dimensions do not group agents.
    queues = await _breakdown(floor, "channel")
    assert all(r["metrics"]["occupancy"] is None for r in queues.values())


async def test_the_previous_period_of_a_comparison(floor: Floor) -> None:
    async with db.unit_of_work() as session:
        before = await service.total(
            session,
            floor.workspace_id,
            start=date(2026, 3, 28),
            end=date(2026, 3, 28),
            tz="Europe/Kyiv",
        )
    assert before["occupancy"] == 0.0


async def test_an_open_interval_counts_until_now(demo: Demo) -> None:
    ws, anna = demo.workspace_id, demo.users["agent"]
    now = utcnow()
    async with db.unit_of_work() as session:
        await _kyiv(session, demo)
        session.add_all(
            [
                interval(
                    ws, anna, "online", now - timedelta(minutes=30), now - timedelta(minutes=20)
                ),
                interval(ws, anna, "online", now - timedelta(minutes=10), None, handling=True),
            ]
        )
    today = now.astimezone(ZoneInfo("Europe/Kyiv")).date()
    async with db.unit_of_work() as session:
        got = await service.summary(
            session, ws, start=today - timedelta(days=1), end=today, by="day"
        )
    # 600 s idle, then busy from 10 minutes ago until the report was asked: about 600 s.
    assert got["total"]["occupancy"] == pytest.approx(0.5, abs=0.01)


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


async def test_overlapping_chats_count_once(demo: Demo, monkeypatch: pytest.MonkeyPatch) -> None:
    """Through the services: presence changes and chats assigned and resolved, the history's
    clock set by hand. Europe/Kyiv in June is +03:00: 2026-06-10 runs 06-09 21:00 - 06-10 21:00."""
    history.register()
    clock = Clock(t(10, 7, month=6))
    monkeypatch.setattr(history, "utcnow", clock)
    monkeypatch.setattr(presence, "utcnow", clock)
    ws, anna = demo.workspace_id, demo.users["agent"]
    admin = Principal(demo.users["admin"], ws, "admin", "Alex", "admin@x", "en", None)
    queue = demo.queues["First line"]
    a, b, c = await add_waiting(demo, queue, 3)
    (letter,) = await add_waiting(demo, queue, 1, channel="email")
    async with db.unit_of_work() as session:
        await _kyiv(session, demo)

    async def at(h: int, m: int, action: Any) -> None:
        clock.at = t(10, h, m, month=6)
        async with db.unit_of_work() as session:
            await action(session)

    def assign(conv: int) -> Any:
        return lambda s: conversations.do_assign(s, admin, conv, anna)

    def resolve(conv: int) -> Any:
        return lambda s: conversations.do_resolve(s, admin, conv)

    def status(value: str) -> Any:
        return lambda s: presence.do_set_presence(s, ws, anna, value)

    await at(7, 0, status("online"))
    await at(7, 5, assign(letter))  # a letter is not handling: it stays assigned all along
    await at(7, 10, assign(a))
    await at(7, 20, assign(b))  # two chats at once from 07:20 to 07:40
    await at(7, 40, resolve(a))
    await at(7, 50, resolve(b))
    await at(8, 0, status("away"))
    await at(8, 30, status("online"))
    await at(8, 40, assign(c))
    await at(9, 0, status("offline"))  # hands chat C back to the queue

    async with db.sessionmaker()() as session:
        rows = (
            await session.scalars(
                select(PresenceInterval)
                .where(PresenceInterval.user_id == anna)
                .order_by(PresenceInterval.started_at, PresenceInterval.id)
            )
        ).all()
    got = [
        (
            r.status,
            r.handling,
            r.started_at.strftime("%H:%M"),
            r.ended_at and r.ended_at.strftime("%H:%M"),
        )
        for r in rows
    ]
    assert got == [
        ("online", False, "07:00", "07:10"),
        ("online", True, "07:10", "07:50"),
        ("online", False, "07:50", "08:00"),
        ("away", False, "08:00", "08:30"),
        ("online", False, "08:30", "08:40"),
        ("online", True, "08:40", "09:00"),
        ("offline", False, "09:00", None),
    ]
    async with db.unit_of_work() as session:
        rows_by_agent = await service.breakdown(
            session, ws, start=date(2026, 6, 10), end=date(2026, 6, 10), dimension="agent"
        )
    mine = next(r for r in rows_by_agent if r["key"] == anna)
    # Staffed 07:00-08:00 and 08:30-09:00: 5,400 s. Handling: at least one chat 07:10-07:50
    # (2,400 s; the overlap 07:20-07:40 once) and 08:40-09:00 (1,200 s): 3,600 s.
    # 3,600 / 5,400 = 0.6667 (summing the chats, 30 + 30 + 20 minutes, would give 0.8889).
    assert mine["metrics"]["occupancy"] == 0.6667
