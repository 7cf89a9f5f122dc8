"""Presence, take next, pick and accept through the staff API."""

from __future__ import annotations

import httpx

from omniline import db
from omniline.presence.models import QueueRouting
from tests.conftest import Demo, bearer, staff_token, visitor
from tests.presence.helpers import add_waiting, convs, run_jobs


async def _agent(client: httpx.AsyncClient) -> dict[str, str]:
    return bearer(await staff_token(client, "agent@demo.omniline", "demo-agent"))


async def test_presence_round_trip_and_validation(client: httpx.AsyncClient, demo: Demo) -> None:
    h = await _agent(client)
    r = await client.get("/api/v1/me/presence", headers=h)
    assert r.status_code == 200
    assert r.json()["status"] == "offline"
    assert r.json()["capacity"] == {"chat": 5, "email": 10, "voice": 1}
    r = await client.put("/api/v1/me/presence", json={"status": "online"}, headers=h)
    assert r.status_code == 200 and r.json()["status"] == "online"
    r = await client.put("/api/v1/me/presence", json={"status": "sleeping"}, headers=h)
    assert r.status_code == 422
    assert r.json()["error"]["fields"][0]["field"] == "status"
    r = await client.put("/api/v1/me/presence", json={}, headers=h)
    assert r.status_code == 422


async def test_supervisor_sees_agents_with_load_agent_does_not(
    client: httpx.AsyncClient, demo: Demo
) -> None:
    h = await _agent(client)
    await client.put("/api/v1/me/presence", json={"status": "online"}, headers=h)
    r = await client.get("/api/v1/presence", headers=h)
    assert r.status_code == 403
    sup = bearer(await staff_token(client, "supervisor@demo.omniline", "demo-supervisor"))
    r = await client.get("/api/v1/presence", headers=sup)
    assert r.status_code == 200
    by_name = {i["name"]: i for i in r.json()["items"]}
    assert by_name["Anna Agent"]["status"] == "online"
    assert by_name["Boris Agent"]["status"] == "offline"
    assert by_name["Anna Agent"]["load"] == {"chat": 0, "email": 0, "voice": 0}


async def test_take_next_obeys_capacity(client: httpx.AsyncClient, demo: Demo) -> None:
    q = demo.queues["First line"]
    h = await _agent(client)
    r = await client.post("/api/v1/me/take-next", headers=h)
    assert r.status_code == 404
    assert "no conversation is waiting" in r.json()["error"]["message"]
    ids = await add_waiting(demo, q, 6, waited_seconds=60)
    for i in range(5):
        r = await client.post(f"/api/v1/queues/{q}/take-next", headers=h)
        assert r.status_code == 200, r.text
        assert r.json()["id"] == ids[i]  # the longest waiting first
        assert r.json()["status"] == "assigned"
    r = await client.post("/api/v1/me/take-next", headers=h)
    assert r.status_code == 409
    assert "5 of 5 chats" in r.json()["error"]["message"]
    r = await client.post(f"/api/v1/conversations/{ids[5]}/pick", headers=h)
    assert r.status_code == 409
    assert "full capacity" in r.json()["error"]["message"]
    r = await client.post(f"/api/v1/queues/{demo.queues['Tech support']}/take-next", headers=h)
    assert r.status_code == 404  # not a queue Anna may see


async def test_pick_someone_elses_conversation_is_refused(
    client: httpx.AsyncClient, demo: Demo
) -> None:
    q = demo.queues["First line"]
    (cid,) = await add_waiting(demo, q, 1)
    boris = bearer(await staff_token(client, "agent2@demo.omniline", "demo-agent"))
    r = await client.post(f"/api/v1/conversations/{cid}/pick", headers=boris)
    assert r.status_code == 200 and r.json()["assignee"]["name"] == "Boris Agent"
    r = await client.post(f"/api/v1/conversations/{cid}/pick", headers=boris)
    assert r.status_code == 200  # picking my own again changes nothing
    r = await client.post(f"/api/v1/conversations/{cid}/pick", headers=await _agent(client))
    assert r.status_code == 409
    assert "Boris Agent already has this conversation" in r.json()["error"]["message"]
    r = await client.post("/api/v1/conversations/999999/pick", headers=boris)
    assert r.status_code == 404


async def test_accept_only_what_was_offered(client: httpx.AsyncClient, demo: Demo) -> None:
    q = demo.queues["First line"]
    async with db.unit_of_work() as session:
        session.add(
            QueueRouting(
                queue_id=q, workspace_id=demo.workspace_id, strategy="longest_idle",
                auto_assign=True, requires_acceptance=True, acceptance_seconds=30,
            )
        )  # fmt: skip
    h = await _agent(client)
    await client.put("/api/v1/me/presence", json={"status": "online"}, headers=h)
    (cid,) = await add_waiting(demo, q, 1)
    r = await client.post(f"/api/v1/conversations/{cid}/accept", headers=h)
    assert r.status_code == 409
    await client.put("/api/v1/me/presence", json={"status": "online"}, headers=h)
    from tests.presence.helpers import run

    await run(demo, q)
    me = (await client.get("/api/v1/me/presence", headers=h)).json()
    assert [o["conversation_id"] for o in me["offers"]] == [cid]
    r = await client.post(f"/api/v1/conversations/{cid}/accept", headers=h)
    assert r.status_code == 200
    me = (await client.get("/api/v1/me/presence", headers=h)).json()
    assert me["offers"] == []


async def test_widget_message_is_assigned_to_an_online_agent(
    client: httpx.AsyncClient, demo: Demo
) -> None:
    h = await _agent(client)
    await client.put("/api/v1/me/presence", json={"status": "online"}, headers=h)
    await run_jobs()
    token = await visitor(client)
    r = await client.post(
        "/api/v1/widget/messages", json={"text": "my card is blocked"}, headers=bearer(token)
    )
    assert r.status_code in (200, 201), r.text
    await run_jobs()
    rows = (await client.get("/api/v1/conversations", headers=h)).json()["items"]
    assert rows and rows[0]["assignee"]["name"] == "Anna Agent"
    assert (await convs(rows[0]["id"]))[rows[0]["id"]].status == "assigned"
