from __future__ import annotations

import httpx

from tests.conftest import Demo, bearer, staff_token, visitor


async def test_visitor_message_reaches_agent_list(client: httpx.AsyncClient, demo: Demo) -> None:
    token = await visitor(client)
    r = await client.post(
        "/api/v1/widget/messages", json={"text": "Where is my loan?"}, headers=bearer(token)
    )
    assert r.status_code == 201, r.text
    agent = await staff_token(client, "agent@demo.omniline", "demo-agent")
    listing = (await client.get("/api/v1/conversations", headers=bearer(agent))).json()
    assert [c["last_message"]["text"] for c in listing["items"]] == ["Where is my loan?"]
    assert listing["counts"]["queued"] == 1
