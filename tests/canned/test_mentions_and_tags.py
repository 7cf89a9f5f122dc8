"""@mentions in private notes reach only the colleague named; the tag list for suggestions."""

from __future__ import annotations

import asyncio

import httpx
import orjson

from omniline.auth.principal import Principal
from omniline.realtime.hub import StaffConnection
from omniline.realtime.service import get_realtime
from tests.conftest import Demo
from tests.webhooks.helpers import AGENT, customer_writes, login

AGENT2 = ("agent2@demo.omniline", "demo-agent")


def connect(demo: Demo, who: str, role: str, queue_ids: frozenset[int] | None) -> StaffConnection:
    conn = StaffConnection(
        Principal(
            user_id=demo.users[who],
            workspace_id=demo.workspace_id,
            role=role,
            name=who,
            email=f"{who}@demo.omniline",
            locale="en",
            queue_ids=queue_ids,
        )
    )
    get_realtime().hub.add(conn)
    return conn


def frames(conn: StaffConnection, kind: str) -> list[dict[str, object]]:
    out = []
    while not conn.queue.empty():
        frame = orjson.loads(conn.queue.get_nowait())
        if frame["type"] == kind:
            out.append(frame["data"])
    return out


async def test_a_mention_in_a_note_notifies_only_that_colleague(
    client: httpx.AsyncClient, demo: Demo
) -> None:
    first_line = frozenset({demo.queues["First line"]})
    anna = connect(demo, "agent", "agent", first_line)
    boris = connect(demo, "agent2", "agent", first_line)
    sofia = connect(demo, "supervisor", "supervisor", None)
    admin = connect(demo, "admin", "admin", None)
    conv_id = await customer_writes(client, "I was charged twice")
    agent = await login(client, AGENT)
    r = await client.post(
        f"/api/v1/conversations/{conv_id}/messages",
        json={"text": "@Boris Agent please check the double charge", "private": True},
        headers=agent,
    )
    assert r.status_code == 201, r.text
    await asyncio.sleep(0.05)

    (notice,) = frames(boris, "mention")
    assert notice["conversation_id"] == conv_id
    assert notice["by"] == {"id": demo.users["agent"], "name": "Anna Agent"}
    assert "double charge" in str(notice["excerpt"])
    for other in (anna, sofia, admin):
        assert frames(other, "mention") == []

    events = (await client.get(f"/api/v1/conversations/{conv_id}/events", headers=agent)).json()
    mentioned = [e for e in events["items"] if e["type"] == "mentioned"]
    assert len(mentioned) == 1
    assert mentioned[0]["data"]["user_id"] == demo.users["agent2"]
    assert mentioned[0]["actor"]["name"] == "Anna Agent"


async def test_replies_self_mentions_and_strangers_notify_nobody(
    client: httpx.AsyncClient, demo: Demo
) -> None:
    boris = connect(demo, "agent2", "agent", None)
    anna = connect(demo, "agent", "agent", None)
    conv_id = await customer_writes(client)
    agent = await login(client, AGENT)
    for body in (
        {"text": "@Boris Agent will call you back", "private": False},  # seen by the customer
        {"text": "note to self @Anna Agent", "private": True},
        {"text": "ask @Borisov or @Boris Agentov", "private": True},
        {"text": "mail boris@demo.omniline", "private": True},
    ):
        r = await client.post(f"/api/v1/conversations/{conv_id}/messages", json=body, headers=agent)
        assert r.status_code == 201
    await asyncio.sleep(0.05)
    assert frames(boris, "mention") == [] and frames(anna, "mention") == []
    events = (await client.get(f"/api/v1/conversations/{conv_id}/events", headers=agent)).json()
    assert not [e for e in events["items"] if e["type"] == "mentioned"]


async def test_two_colleagues_in_one_note(client: httpx.AsyncClient, demo: Demo) -> None:
    boris = connect(demo, "agent2", "agent", None)
    sofia = connect(demo, "supervisor", "supervisor", None)
    conv_id = await customer_writes(client)
    agent = await login(client, AGENT)
    r = await client.post(
        f"/api/v1/conversations/{conv_id}/messages",
        json={"text": "@sofia supervisor, @Boris Agent: VIP client", "private": True},
        headers=agent,
    )
    assert r.status_code == 201
    await asyncio.sleep(0.05)
    assert len(frames(boris, "mention")) == 1
    assert len(frames(sofia, "mention")) == 1


async def test_tags_of_the_workspace_most_used_first(client: httpx.AsyncClient, demo: Demo) -> None:
    agent = await login(client, AGENT2)
    convs = [await customer_writes(client, f"q{i}") for i in range(3)]
    tag_sets = [["loan", "vip"], ["loan", "card"], ["loan", "vip"]]
    for conv_id, tags in zip(convs, tag_sets, strict=True):
        r = await client.put(
            f"/api/v1/conversations/{conv_id}/tags", json={"tags": tags}, headers=agent
        )
        assert r.status_code == 200, r.text
    r = await client.get("/api/v1/tags", headers=agent)
    assert r.status_code == 200
    assert r.json()["items"] == [
        {"tag": "loan", "count": 3},
        {"tag": "vip", "count": 2},
        {"tag": "card", "count": 1},
    ]
    r = await client.get("/api/v1/tags", params={"q": "V"}, headers=agent)
    assert [i["tag"] for i in r.json()["items"]] == ["vip"]
    r = await client.get("/api/v1/tags", params={"q": "%"}, headers=agent)
    assert r.json()["items"] == []
    assert (await client.get("/api/v1/tags")).status_code == 401
