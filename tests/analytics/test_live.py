"""Figures follow live conversations: a chat written through the widget, taken, answered
and resolved through the API shows up in the report without a rebuild."""

from __future__ import annotations

from datetime import timedelta

import httpx

from omniline.kit.clock import utcnow
from tests.conftest import Demo, bearer, staff_token, visitor


async def test_a_live_chat_is_counted_as_it_goes(client: httpx.AsyncClient, demo: Demo) -> None:
    admin = bearer(await staff_token(client, "admin@demo.omniline", "demo-admin"))
    agent = bearer(await staff_token(client, "agent@demo.omniline", "demo-agent"))
    today = utcnow().date()
    # Around today in UTC (the demo workspace's zone): yesterday to tomorrow.
    params = {
        "from": (today - timedelta(days=1)).isoformat(),
        "to": (today + timedelta(days=1)).isoformat(),
        "tz": "UTC",
    }

    async def total() -> dict[str, int]:
        r = await client.get("/api/v1/reports/summary", params=params, headers=admin)
        assert r.status_code == 200, r.text
        return r.json()["total"]

    assert (await total())["conversations"] == 0
    token = await visitor(client)
    r = await client.post("/api/v1/widget/messages", json={"text": "hi"}, headers=bearer(token))
    assert r.status_code in (200, 201), r.text
    conv = r.json()["conversation_id"]
    got = await total()
    # Still waiting: counted as a conversation, offered once it is answered or given up
    # (as calls, docs/metrics.md).
    assert (got["conversations"], got["offered"], got["answered"], got["unfinished"]) == (
        1,
        0,
        0,
        1,
    )
    r = await client.post(
        f"/api/v1/conversations/{conv}/assign",
        json={"assignee_id": demo.users["agent"]},
        headers=admin,
    )
    assert r.status_code == 200, r.text
    r = await client.post(
        f"/api/v1/conversations/{conv}/messages", json={"text": "hello"}, headers=agent
    )
    assert r.status_code == 201, r.text
    got = await total()
    assert (got["offered"], got["answered"], got["unfinished"], got["messages_avg"]) == (
        1,
        1,
        0,
        2.0,
    )
    assert got["frt_s"] is not None
    r = await client.post(f"/api/v1/conversations/{conv}/resolve", headers=agent)
    assert r.status_code == 200, r.text
    got = await total()
    assert (got["resolved"], got["unresolved"], got["resolution_rate"]) == (1, 0, 1.0)
