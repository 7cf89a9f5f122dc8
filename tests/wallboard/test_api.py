"""The wallboard's figures through GET /api/v1/wallboard and the page: who may see what."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select

from omniline import db
from omniline.auth import service as users
from omniline.channels.voice.models import VoiceCall, VoiceQueue
from omniline.contacts.models import Contact
from omniline.conversations.models import Conversation, Status
from omniline.kit.clock import utcnow
from omniline.presence.models import PresenceInterval
from omniline.wallboard.service import estimated_wait_s
from omniline.workspaces import service as workspaces
from omniline.workspaces.models import Queue, Workspace
from tests.conftest import Demo, bearer, staff_token
from tests.presence.helpers import add_waiting, set_presence
from tests.workspaces.test_admin_pages import login

EVIL = "<script>alert('wb')</script>"
ADMIN = ("admin@demo.omniline", "demo-admin")
SUPERVISOR = ("supervisor@demo.omniline", "demo-supervisor")


async def _board(client: httpx.AsyncClient, who: tuple[str, str]) -> dict:  # type: ignore[type-arg]
    r = await client.get("/api/v1/wallboard", headers=bearer(await staff_token(client, *who)))
    assert r.status_code == 200, r.text
    return dict(r.json())


def _queue(board: dict, name: str) -> dict:  # type: ignore[type-arg]
    return next(q for q in board["queues"] if q["name"] == name)


async def _collections(demo: Demo) -> tuple[int, int]:
    """A second team with its own queue, supervisor and agent."""
    async with db.unit_of_work() as session:
        team = await workspaces.do_create_team(session, demo.workspace_id, "Collections team")
        queue = await workspaces.do_create_queue(
            session, demo.workspace_id, "Collections", team_id=team.id
        )
        sup = await users.do_create_user(
            session, workspace_id=demo.workspace_id, email="sam@demo.omniline",
            name="Sam Supervisor", password="sam-password-1", role="supervisor",
        )  # fmt: skip
        agent = await users.do_create_user(
            session, workspace_id=demo.workspace_id, email="carl@demo.omniline",
            name="Carl Collector", password="carl-password-1", role="agent",
        )  # fmt: skip
        await workspaces.do_set_team_members(session, demo.workspace_id, team.id, [sup.id])
        await workspaces.do_add_queue_member(session, demo.workspace_id, queue.id, agent.id)
        return queue.id, agent.id


async def _local_midnight(demo: Demo) -> datetime:
    """Today's start in the workspace's zone: what the wallboard calls today."""
    async with db.sessionmaker()() as session:
        ws = await session.get(Workspace, demo.workspace_id)
        assert ws is not None
        zone = ZoneInfo(ws.timezone)
    local = utcnow().astimezone(zone)
    return datetime.combine(local.date(), time(0), zone)


async def _finished_today(demo: Demo, queue_id: int, outcomes: list[tuple[bool, int]]) -> None:
    """Chats queued a few minutes ago: (answered?, seconds waited) each."""
    now = utcnow()
    queued = max(now - timedelta(minutes=5), await _local_midnight(demo) + timedelta(seconds=1))
    async with db.unit_of_work() as session:
        for i, (answered, wait) in enumerate(outcomes):
            contact = Contact(workspace_id=demo.workspace_id, name=f"done{i}", attributes={})
            session.add(contact)
            await session.flush()
            end = queued + timedelta(seconds=wait)
            session.add(
                Conversation(
                    workspace_id=demo.workspace_id, inbox_id=demo.inbox_id, channel="webchat",
                    contact_id=contact.id, queue_id=queue_id, tags=[],
                    status=Status.resolved.value if answered else Status.closed.value,
                    first_queued_at=queued, first_assigned_at=end if answered else None,
                    resolved_at=end + timedelta(seconds=60) if answered else end,
                    last_activity_at=end,
                )
            )  # fmt: skip


async def test_agents_are_refused(client: httpx.AsyncClient, demo: Demo) -> None:
    token = await staff_token(client, "agent@demo.omniline", "demo-agent")
    r = await client.get("/api/v1/wallboard", headers=bearer(token))
    assert r.status_code == 403
    assert "supervisors and administrators" in r.json()["error"]["message"]
    await login(client, "agent@demo.omniline", "demo-agent")
    page = await client.get("/wallboard")
    assert page.status_code == 403 and 'data-testid="wallboard"' not in page.text
    assert (await client.post("/api/v1/wallboard")).status_code == 405


async def test_waiting_agents_and_estimated_wait(client: httpx.AsyncClient, demo: Demo) -> None:
    first = demo.queues["First line"]
    await add_waiting(demo, first, 3, waited_seconds=90)
    await add_waiting(demo, first, 1, channel="voice", waited_seconds=10)
    await set_presence(demo, demo.users["agent"], "online")
    await set_presence(demo, demo.users["agent2"], "away")
    board = await _board(client, ADMIN)
    q = _queue(board, "First line")
    assert q["waiting"] == {"chats": 3, "calls": 1}
    assert 90 <= q["longest_wait_s"] < 150
    assert q["agents"]["available"] == 1 and q["agents"]["away"] == 1
    assert q["agents"]["offline"] == 0
    # One agent on duty, nothing handled yet: the default 5 minutes per conversation, and the
    # next customer is the fifth in line.
    assert q["estimated_wait_s"] == 5 * 300
    assert _queue(board, "Tech support")["estimated_wait_s"] is None  # nobody on duty
    anna = next(a for a in board["agents"] if a["name"] == "Anna Agent")
    assert anna["state"] == "available" and anna["open_chats"] == 0
    assert anna["seconds_in_state"] is not None and anna["seconds_in_state"] < 60
    boris = next(a for a in board["agents"] if a["name"] == "Boris Agent")
    assert boris["state"] == "away"


async def test_service_level_below_target_raises_an_alert(
    client: httpx.AsyncClient, demo: Demo
) -> None:
    first, business = demo.queues["First line"], demo.queues["Business assistants"]
    # First line: 2 of 4 answered within 20 s, one abandoned after 40 s, one short abandon.
    await _finished_today(demo, first, [(True, 5), (True, 15), (True, 60), (False, 40), (False, 2)])
    # Business assistants: 9 of 10 in time against a 90 % target: no alert.
    await _finished_today(demo, business, [(True, 3)] * 9 + [(True, 30)])
    async with db.unit_of_work() as session:
        session.add(
            VoiceQueue(
                queue_id=business, workspace_id=demo.workspace_id,
                service_level_s=20, service_level_target=0.9,
            )
        )  # fmt: skip
    board = await _board(client, ADMIN)
    q = _queue(board, "First line")
    assert q["service_level"] == 0.5  # 2 / (3 answered + 1 long abandon)
    assert q["abandoned"] == 2 and q["answered"] == 3 and q["offered"] == 5
    assert q["alert"] is True and q["service_level_target"] == 0.8
    b = _queue(board, "Business assistants")
    assert b["service_level"] == 0.9 and b["service_level_target"] == 0.9 and b["alert"] is False
    assert [a["queue_id"] for a in board["alerts"]] == [first]
    assert board["alerts"][0]["kind"] == "service_level"


async def test_a_supervisor_sees_only_the_queues_of_their_teams(
    client: httpx.AsyncClient, demo: Demo
) -> None:
    collections, carl = await _collections(demo)
    await add_waiting(demo, collections, 2)
    await add_waiting(demo, demo.queues["First line"], 1)
    sam = await _board(client, ("sam@demo.omniline", "sam-password-1"))
    assert [q["name"] for q in sam["queues"]] == ["Collections"]
    assert sam["queues"][0]["waiting"]["chats"] == 2
    assert [a["user_id"] for a in sam["agents"]] == [carl]
    sofia = await _board(client, SUPERVISOR)
    assert "Collections" not in {q["name"] for q in sofia["queues"]}
    assert carl not in {a["user_id"] for a in sofia["agents"]}
    admin = await _board(client, ADMIN)
    assert {"Collections", "First line"} <= {q["name"] for q in admin["queues"]}


async def test_the_page_escapes_queue_and_agent_names(
    client: httpx.AsyncClient, demo: Demo
) -> None:
    async with db.unit_of_work() as session:
        queue = await session.scalar(select(Queue).where(Queue.id == demo.queues["Complaints"]))
        assert queue is not None
        queue.name = EVIL
    await login(client, *ADMIN)
    page = await client.get("/wallboard")
    assert page.status_code == 200
    assert EVIL not in page.text
    assert "&lt;script&gt;alert(&#39;wb&#39;)&lt;/script&gt;" in page.text
    assert "wallboard/wallboard.js" in page.text


def test_estimated_wait_formula() -> None:
    assert estimated_wait_s(0, 2, 300.0) == 150  # the next one, two agents
    assert estimated_wait_s(3, 1, 60.0) == 240
    assert estimated_wait_s(5, 0, 60.0) is None


async def test_calls_today_count_in_the_service_level(
    client: httpx.AsyncClient, demo: Demo
) -> None:
    """Calls follow docs/metrics.md "Voice": answered in 20 s, a long and a short abandon."""
    now = utcnow()
    queued = max(now - timedelta(minutes=5), await _local_midnight(demo) + timedelta(seconds=1))
    first = demo.queues["Tech support"]
    async with db.unit_of_work() as session:
        contact = Contact(workspace_id=demo.workspace_id, name="caller", attributes={})
        session.add(contact)
        await session.flush()
        conv = Conversation(
            workspace_id=demo.workspace_id, inbox_id=demo.inbox_id, channel="voice",
            contact_id=contact.id, queue_id=first, status=Status.closed.value, tags=[],
        )  # fmt: skip
        session.add(conv)
        await session.flush()
        for i, (answered, wait) in enumerate([(True, 8), (True, 45), (False, 30), (False, 2)]):
            session.add(
                VoiceCall(
                    workspace_id=demo.workspace_id, inbox_id=demo.inbox_id,
                    conversation_id=conv.id, contact_id=contact.id, ref=f"call-{i}",
                    queue_id=first, arrived_at=queued, queued_at=queued,
                    answered_at=queued + timedelta(seconds=wait) if answered else None,
                    ended_at=queued + timedelta(seconds=wait + (60 if answered else 0)),
                    end_reason="answered" if answered else "abandoned",
                    state="ended",
                )
            )  # fmt: skip
        # A call of two days ago does not count today.
        session.add(
            VoiceCall(
                workspace_id=demo.workspace_id, inbox_id=demo.inbox_id, conversation_id=conv.id,
                contact_id=contact.id, ref="old", queue_id=first,
                arrived_at=now - timedelta(days=2), queued_at=now - timedelta(days=2),
                end_reason="abandoned", ended_at=now - timedelta(days=2, seconds=-60),
                state="ended",
            )
        )  # fmt: skip
    q = _queue(await _board(client, ADMIN), "Tech support")
    assert q["offered"] == 4 and q["answered"] == 2 and q["abandoned"] == 2
    assert q["service_level"] == round(1 / 3, 4)  # 1 in time / (2 answered + 1 long abandon)
    assert q["alert"] is True


async def test_occupancy_today_per_agent(client: httpx.AsyncClient, demo: Demo) -> None:
    """Today's share of each agent's staffed time with a chat (docs/metrics.md), from midnight
    in the workspace's zone until now."""
    now, midnight = utcnow(), await _local_midnight(demo)
    anna = demo.users["agent"]
    idle_from, busy_from = now - timedelta(minutes=40), now - timedelta(minutes=20)
    async with db.unit_of_work() as session:
        session.add_all(
            [
                # Online and idle since yesterday evening (cut at midnight), then with a chat.
                PresenceInterval(
                    workspace_id=demo.workspace_id, user_id=anna, status="online",
                    started_at=idle_from - timedelta(hours=30), ended_at=busy_from,
                ),
                PresenceInterval(
                    workspace_id=demo.workspace_id, user_id=anna, status="online",
                    handling=True, started_at=busy_from, ended_at=None,
                ),
            ]
        )  # fmt: skip
    board = await _board(client, ADMIN)
    after = utcnow()
    idle = (busy_from - max(midnight, idle_from - timedelta(hours=30))).total_seconds()
    busy = (after - max(midnight, busy_from)).total_seconds()
    row = next(a for a in board["agents"] if a["user_id"] == anna)
    assert row["occupancy_today"] == pytest.approx(busy / (max(idle, 0) + busy), abs=0.01)
    boris = next(a for a in board["agents"] if a["user_id"] == demo.users["agent2"])
    assert boris["occupancy_today"] is None  # never available today
