"""Admins keep flows: drafts with their problems, publishing only without, rollback, JSON in
and out, translations as CSV, a test chat of the draft, the funnel, secrets never shown."""

from __future__ import annotations

import copy
from typing import Any

import httpx
import pytest

from tests.bots.support import Crm, Customer, admin, crm_fixture, lender_flow, publish
from tests.conftest import Demo, bearer, staff_token

crm = pytest.fixture(crm_fixture)


async def create(client: httpx.AsyncClient, h: dict[str, str], graph: dict[str, Any]) -> int:
    r = await client.post(
        "/api/v1/bots/flows", json={"key": "main", "name": "Main", "graph": graph}, headers=h
    )
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


async def test_a_broken_draft_is_saved_with_its_problems_and_cannot_be_published(
    client: httpx.AsyncClient, demo: Demo, crm: Crm
) -> None:
    h = await admin(client)
    graph = lender_flow(crm.url)
    flow_id = await create(client, h, graph)
    broken = copy.deepcopy(graph)
    broken["nodes"][0]["options"][0]["next"] = "nowhere"
    r = await client.put(
        f"/api/v1/bots/flows/{flow_id}", json={"graph": broken, "revision": 1}, headers=h
    )
    assert r.status_code == 200
    first = r.json()["problems"][0]
    assert (first["node"], first["code"]) == ("menu", "missing_target")
    # The request is right and the stored draft is not ready: 409 (was 422, schemathesis ST202).
    r = await client.post(f"/api/v1/bots/flows/{flow_id}/publish", json={}, headers=h)
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "flow_invalid"
    assert any(p["code"] == "missing_target" for p in r.json()["error"]["problems"])
    # Someone saving over a newer draft is told.
    r = await client.put(
        f"/api/v1/bots/flows/{flow_id}", json={"graph": graph, "revision": 1}, headers=h
    )
    assert r.status_code == 409


async def test_shape_errors_are_refused_with_their_place(
    client: httpx.AsyncClient, demo: Demo
) -> None:
    h = await admin(client)
    bad = {"nodes": [{"id": "a", "type": "teleport"}]}
    r = await client.post(
        "/api/v1/bots/flows", json={"key": "x", "name": "X", "graph": bad}, headers=h
    )
    assert r.status_code == 422
    assert r.json()["error"]["fields"][0]["field"].startswith("graph.nodes.0")


async def test_publish_rollback_and_conversations_keep_their_version(
    client: httpx.AsyncClient, demo: Demo, crm: Crm
) -> None:
    h = await admin(client)
    graph = lender_flow(crm.url)
    flow_id = await publish(client, h, graph, inbox_id=demo.inbox_id)
    first = await Customer.open(client)
    await first.send("hi")
    changed = copy.deepcopy(graph)
    changed["nodes"][0]["text"] = {"en": "Welcome back!", "ru": "С возвращением!"}
    r = await client.put(f"/api/v1/bots/flows/{flow_id}", json={"graph": changed}, headers=h)
    assert r.json()["problems"] == []
    r = await client.post(f"/api/v1/bots/flows/{flow_id}/publish", json={"note": "v2"}, headers=h)
    assert r.status_code == 201 and r.json()["number"] == 2
    second = await Customer.open(client)
    await second.send("hi")
    assert (await second.replies())[0]["text"] == "Welcome back!"
    # The first conversation is still on version 1: its menu answers as before.
    assert (await first.replies())[0]["text"] == "Hello! How can we help?"
    r = await client.post(f"/api/v1/bots/flows/{flow_id}/rollback", json={"version": 1}, headers=h)
    assert r.status_code == 201 and r.json()["number"] == 3
    third = await Customer.open(client)
    await third.send("hi")
    assert (await third.replies())[0]["text"] == "Hello! How can we help?"
    r = await client.get(f"/api/v1/bots/flows/{flow_id}", headers=h)
    assert [v["number"] for v in r.json()["versions"]] == [3, 2, 1]
    assert r.json()["versions"][0]["note"] == "rollback to version 1"


async def test_import_refuses_a_broken_graph_and_leaves_the_published_one(
    client: httpx.AsyncClient, demo: Demo, crm: Crm
) -> None:
    h = await admin(client)
    flow_id = await publish(client, h, lender_flow(crm.url), inbox_id=demo.inbox_id)
    r = await client.get(f"/api/v1/bots/flows/{flow_id}/export", headers=h)
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    exported = r.json()
    assert exported["schema"] == "omniline-flow/1" and exported["key"] == "greeting"
    broken = copy.deepcopy(exported)
    broken["nodes"] = [n for n in broken["nodes"] if n["id"] != "bye"]
    r = await client.post("/api/v1/bots/flows/import?publish=true", json=broken, headers=h)
    assert r.status_code == 409
    assert {p["code"] for p in r.json()["error"]["problems"]} >= {"missing_target"}
    r = await client.get(f"/api/v1/bots/flows/{flow_id}", headers=h)
    assert r.json()["revision"] == 1 and r.json()["problems"] == []  # nothing was stored
    c = await Customer.open(client)
    await c.send("hi")
    await c.send("3")
    assert [m["text"] for m in await c.replies()][-1] == "Goodbye!"
    # The same document back in, published: a new version, same flow.
    exported["nodes"][-1]["text"] = {"en": "Bye now!", "ru": "Пока!"}
    r = await client.post("/api/v1/bots/flows/import?publish=true", json=exported, headers=h)
    assert r.status_code == 201, r.text
    assert r.json()["id"] == flow_id and r.json()["published"]["number"] == 2


async def test_an_import_without_publishing_keeps_the_draft_with_its_problems(
    client: httpx.AsyncClient, demo: Demo, crm: Crm
) -> None:
    """An import was refused whole with 422 for problems of the graph (schemathesis ST202):
    now it is a draft like a saved one, its problems listed; publishing it is what is refused
    (409)."""
    h = await admin(client)
    flow_id = await publish(client, h, lender_flow(crm.url), inbox_id=demo.inbox_id)
    exported = (await client.get(f"/api/v1/bots/flows/{flow_id}/export", headers=h)).json()
    exported["nodes"] = [n for n in exported["nodes"] if n["id"] != "bye"]
    r = await client.post("/api/v1/bots/flows/import", json=exported, headers=h)
    assert r.status_code == 201, r.text
    assert r.json()["id"] == flow_id and r.json()["published"] is None
    assert any(p["code"] == "missing_target" for p in r.json()["problems"])
    assert all(n["id"] != "bye" for n in r.json()["graph"]["nodes"])
    r = await client.post(f"/api/v1/bots/flows/{flow_id}/publish", json={}, headers=h)
    assert r.status_code == 409 and r.json()["error"]["code"] == "flow_invalid"
    # A document the schema refuses (an unknown field, a number as text) is a 422.
    for bad in ({**exported, "colour": "red"}, {**exported, "languages": "en"}, {"nodes": []}):
        r = await client.post("/api/v1/bots/flows/import", json=bad, headers=h)
        assert r.status_code == 422, r.text


async def test_the_graph_is_read_as_its_schema_says(
    client: httpx.AsyncClient, demo: Demo, crm: Crm
) -> None:
    """The graph was any object in the schema, and then refused by the service (ST202): now
    its schema is the flow document's, read strictly (2.0 is whole, "2" is not a number)."""
    h = await admin(client)
    graph = lender_flow(crm.url)
    graph["settings"] = {"reminder_seconds": 600.0}
    flow_id = await create(client, h, graph)
    r = await client.get(f"/api/v1/bots/flows/{flow_id}", headers=h)
    assert r.json()["graph"]["settings"]["reminder_seconds"] == 600
    for bad in ({"reminder_seconds": "600"}, {"reminder_seconds": 600.5}, {"colour": 1}):
        r = await client.put(
            f"/api/v1/bots/flows/{flow_id}", json={"graph": {**graph, "settings": bad}}, headers=h
        )
        assert r.status_code == 422, (bad, r.text)
    r = await client.put(
        f"/api/v1/bots/flows/{flow_id}", json={"graph": graph, "name": " "}, headers=h
    )
    assert r.status_code == 422


async def test_translations_round_trip_through_csv(
    client: httpx.AsyncClient, demo: Demo, crm: Crm
) -> None:
    h = await admin(client)
    graph = lender_flow(crm.url)
    graph["languages"] = ["en", "ru", "uk"]
    flow_id = await create(client, h, graph)
    r = await client.get(f"/api/v1/bots/flows/{flow_id}", headers=h)
    assert any(p["code"] == "missing_translation" for p in r.json()["problems"])
    r = await client.get(f"/api/v1/bots/flows/{flow_id}/translations", headers=h)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    lines = r.text.splitlines()
    assert lines[0] == "text,en,ru,uk"
    assert lines[1] == "menu/text,Hello! How can we help?,Здравствуйте! Чем помочь?,"
    filled = [lines[0]]
    for line in lines[1:]:
        filled.append(line.rstrip(",") + ",uk: " + line.split(",")[0].replace("/", " "))
    filled.append("ghost/text,,,Привіт")
    r = await client.put(
        f"/api/v1/bots/flows/{flow_id}/translations",
        content="\n".join(filled).encode(),
        headers={**h, "Content-Type": "text/csv"},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["unknown_rows"] == ["ghost/text"]
    assert body["changed"] == len(lines) - 1
    assert not [p for p in body["problems"] if p["code"] == "missing_translation"]
    assert body["graph"]["nodes"][0]["text"]["uk"] == "uk: menu text"


async def test_the_test_chat_runs_the_draft(
    client: httpx.AsyncClient, demo: Demo, crm: Crm
) -> None:
    h = await admin(client)
    flow_id = await create(client, h, lender_flow(crm.url))
    r = await client.put("/api/v1/bots/secrets/crm_token", json={"value": "t0k"}, headers=h)
    r = await client.post(f"/api/v1/bots/flows/{flow_id}/test", json={}, headers=h)
    assert r.status_code == 200
    assert r.json()["says"][0]["text"] == "Hello! How can we help?"
    state = r.json()["state"]
    r = await client.post(
        f"/api/v1/bots/flows/{flow_id}/test", json={"state": state, "text": "1"}, headers=h
    )
    state = r.json()["state"]
    r = await client.post(
        f"/api/v1/bots/flows/{flow_id}/test",
        json={"state": state, "text": "+44 20 7946 0958"},
        headers=h,
    )
    assert [s["text"] for s in r.json()["says"]] == [
        "Your application is approved (15000).",
        "Goodbye!",
    ]
    assert r.json()["outcome"]["kind"] == "resolved"
    assert crm.calls[-1]["auth"] == "Bearer t0k"


async def test_secrets_are_never_shown_and_only_admins_manage_flows(
    client: httpx.AsyncClient, demo: Demo
) -> None:
    h = await admin(client)
    r = await client.put("/api/v1/bots/secrets/crm_token", json={"value": "hidden"}, headers=h)
    assert r.status_code == 204
    r = await client.get("/api/v1/bots/secrets", headers=h)
    assert r.json() == {"items": [{"name": "crm_token"}]} and "hidden" not in r.text
    r = await client.put("/api/v1/bots/secrets/bad name!", json={"value": "x"}, headers=h)
    assert r.status_code == 422
    agent = bearer(await staff_token(client, "agent@demo.omniline", "demo-agent"))
    assert (await client.get("/api/v1/bots/flows", headers=agent)).status_code == 403
    assert (await client.get("/api/v1/bots/secrets", headers=agent)).status_code == 403


async def test_funnel_counts_conversations_per_node(
    client: httpx.AsyncClient, demo: Demo, crm: Crm
) -> None:
    h = await admin(client)
    flow_id = await publish(client, h, lender_flow(crm.url), inbox_id=demo.inbox_id)
    done = await Customer.open(client)
    await done.send("hi")
    await done.send("3")
    person = await Customer.open(client)
    await person.send("hi")
    await person.send("2")
    waiting = await Customer.open(client)
    await waiting.send("hi")
    r = await client.get(f"/api/v1/bots/flows/{flow_id}/funnel", headers=h)
    assert r.status_code == 200
    f = r.json()
    assert f["conversations"] == 3
    nodes = {n["node"]: n for n in f["nodes"]}
    assert nodes["menu"]["passed"] == 3 and nodes["menu"]["waiting"] == 1
    assert nodes["bye"] == {"node": "bye", "passed": 1, "ended": 1}
    assert nodes["person"] == {"node": "person", "passed": 1, "handed_over": 1}


async def test_an_inbox_greets_only_with_a_published_flow(
    client: httpx.AsyncClient, demo: Demo, crm: Crm
) -> None:
    h = await admin(client)
    flow_id = await create(client, h, lender_flow(crm.url))
    r = await client.put(
        f"/api/v1/bots/inboxes/{demo.inbox_id}", json={"flow_id": flow_id}, headers=h
    )
    assert r.status_code == 409 and r.json()["error"]["fields"][0]["field"] == "flow_id"
    r = await client.delete(f"/api/v1/bots/flows/{flow_id}", headers=h)
    assert r.status_code == 204
