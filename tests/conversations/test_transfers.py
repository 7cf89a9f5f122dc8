"""Transfers between queues: first line hands a conversation to a second-line department."""

from __future__ import annotations

import httpx

from tests.conftest import Demo, bearer, staff_token, visitor


async def _conversation(client: httpx.AsyncClient) -> tuple[str, int]:
    token = await visitor(client)
    r = await client.post(
        "/api/v1/widget/messages", json={"text": "My POS terminal is broken"}, headers=bearer(token)
    )
    assert r.status_code == 201, r.text
    return token, int(r.json()["conversation_id"])


async def test_transfer_moves_to_second_line_with_private_note(
    client: httpx.AsyncClient, demo: Demo
) -> None:
    visitor_token, conv_id = await _conversation(client)
    agent = await staff_token(client, "agent@demo.omniline", "demo-agent")
    tech = demo.queues["Tech support"]

    r = await client.post(
        f"/api/v1/conversations/{conv_id}/transfer",
        json={"queue_id": tech, "note": "Terminal model X100, already rebooted"},
        headers=bearer(agent),
    )
    assert r.status_code == 200, r.text
    # The agent is not in Tech support: the answer and the list show a locked row.
    assert r.json()["locked"] is True
    assert (
        await client.get(f"/api/v1/conversations/{conv_id}", headers=bearer(agent))
    ).status_code == 404
    rows = (await client.get("/api/v1/conversations", headers=bearer(agent))).json()["items"]
    assert [(c["id"], c["locked"]) for c in rows] == [(conv_id, True)]

    supervisor = await staff_token(client, "supervisor@demo.omniline", "demo-supervisor")
    detail = (
        await client.get(f"/api/v1/conversations/{conv_id}", headers=bearer(supervisor))
    ).json()
    assert detail["queue"]["name"] == "Tech support"
    assert detail["status"] == "queued" and detail["assignee"] is None
    events = (
        await client.get(f"/api/v1/conversations/{conv_id}/events", headers=bearer(supervisor))
    ).json()["items"]
    transferred = [e for e in events if e["type"] == "transferred"]
    assert transferred and transferred[0]["data"]["queue_name"] == "Tech support"
    messages = (
        await client.get(f"/api/v1/conversations/{conv_id}/messages", headers=bearer(supervisor))
    ).json()["items"]
    notes = [m for m in messages if m["private"]]
    assert [n["text"] for n in notes] == ["Terminal model X100, already rebooted"]

    # The customer never sees the internal note.
    history = (await client.get("/api/v1/widget/messages", headers=bearer(visitor_token))).json()[
        "items"
    ]
    assert all("X100" not in m["text"] for m in history)


async def test_transfer_refuses_unknown_and_same_queue(
    client: httpx.AsyncClient, demo: Demo
) -> None:
    _, conv_id = await _conversation(client)
    agent = await staff_token(client, "agent@demo.omniline", "demo-agent")
    r = await client.post(
        f"/api/v1/conversations/{conv_id}/transfer", json={"queue_id": 99999}, headers=bearer(agent)
    )
    assert r.status_code == 404
    assert r.json()["error"]["fields"][0]["field"] == "queue_id"
    r = await client.post(
        f"/api/v1/conversations/{conv_id}/transfer",
        json={"queue_id": demo.queues["First line"]},
        headers=bearer(agent),
    )
    assert r.status_code == 409
