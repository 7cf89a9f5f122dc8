"""Admin pages of presence: defaults, queue routing, an agent's capacity and skills."""

from __future__ import annotations

import httpx

from omniline import db
from omniline.presence.models import AgentSkill, AgentState, PresenceSettings, QueueRouting
from tests.conftest import Demo
from tests.workspaces.test_admin_pages import login_admin


async def _admin(client: httpx.AsyncClient) -> str:
    return await login_admin(client)


async def test_defaults_saved_and_bad_input_shown_by_field(
    client: httpx.AsyncClient, demo: Demo
) -> None:
    csrf = await _admin(client)
    page = await client.get("/admin/presence")
    assert "Anna Agent" in page.text and "0 / 5" in page.text
    r = await client.post(
        "/admin/presence/defaults",
        data={"csrf_token": csrf, "chat": "4", "email": "8", "voice": "1", "requeue_on_away": "1"},
    )
    assert r.status_code == 303
    async with db.sessionmaker()() as session:
        row = await session.get(PresenceSettings, demo.workspace_id)
        assert row is not None and (row.chat, row.email, row.requeue_on_away) == (4, 8, True)
    r = await client.post(
        "/admin/presence/defaults",
        data={"csrf_token": csrf, "chat": "-1", "email": "x", "voice": "1"},
    )
    assert r.status_code == 422
    assert 'id="chat-error"' in r.text and "Must be from 0 to 100" in r.text


async def test_queue_routing_and_agent_skills(client: httpx.AsyncClient, demo: Demo) -> None:
    csrf = await _admin(client)
    q = demo.queues["First line"]
    r = await client.post(
        f"/admin/presence/queues/{q}",
        data={"csrf_token": csrf, "strategy": "round_robin", "requires_acceptance": "1",
              "auto_assign": "1", "acceptance_seconds": "20"},
    )  # fmt: skip
    assert r.status_code == 303
    r = await client.post(
        f"/admin/presence/queues/{q}",
        data={"csrf_token": csrf, "strategy": "fastest", "acceptance_seconds": "2"},
    )
    assert r.status_code == 422 and 'id="strategy-error"' in r.text
    async with db.sessionmaker()() as session:
        row = await session.get(QueueRouting, q)
        assert row is not None and row.strategy == "round_robin" and row.acceptance_seconds == 20
    anna = demo.users["agent"]
    page = await client.get(f"/admin/presence/agents/{anna}")
    assert page.status_code == 200 and "First line" in page.text
    r = await client.post(
        f"/admin/presence/agents/{anna}",
        data={"csrf_token": csrf, "chat": "3", "email": "", "voice": "", f"level_{q}": "9"},
    )
    assert r.status_code == 303
    r = await client.post(
        f"/admin/presence/agents/{anna}",
        data={"csrf_token": csrf, "chat": "3", f"level_{q}": "11"},
    )
    assert r.status_code == 422 and f'id="level_{q}-error"' in r.text
    async with db.sessionmaker()() as session:
        state = await session.get(AgentState, anna)
        skill = await session.get(AgentSkill, (q, anna))
        assert state is not None and state.chat_capacity == 3 and state.email_capacity is None
        assert skill is not None and skill.level == 9
    assert (await client.get("/admin/presence/agents/99999")).status_code == 404
