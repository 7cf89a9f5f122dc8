"""The reporting API: who may read it, what it gives (never message text), paging."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import func, select

from omniline import db
from omniline.conversations.models import Conversation, ConversationEvent, Message
from omniline.errors import Forbidden
from tests.bi.conftest import reporting_token
from tests.conftest import Demo, bearer, staff_token, visitor

SECRET_TEXT = "my PIN is 4921 and my mother's maiden name is Kowalczyk"
ROUTES = ("conversations", "messages", "events", "calls", "surveys")


async def _chat(client: httpx.AsyncClient, n: int) -> list[int]:
    ids = []
    for i in range(n):
        token = await visitor(client)
        r = await client.post(
            "/api/v1/widget/messages",
            json={"text": f"{SECRET_TEXT} #{i}"},
            headers=bearer(token),
        )
        assert r.status_code == 201, r.text
        ids.append(r.json()["conversation_id"])
    return ids


async def _all(client: httpx.AsyncClient, route: str, token: str, **params: object) -> list[dict]:
    items: list[dict] = []
    after = 0
    while True:
        r = await client.get(
            f"/api/v1/bi/{route}", params={**params, "after_id": after}, headers=bearer(token)
        )
        assert r.status_code == 200, r.text
        body = r.json()
        items += body["items"]
        if body["next_after_id"] is None:
            return items
        assert body["next_after_id"] == body["items"][-1]["id"]
        after = body["next_after_id"]


async def test_a_reporting_token_reads_metadata_and_never_the_text(
    client: httpx.AsyncClient, demo: Demo, reporting: str
) -> None:
    await _chat(client, 3)
    r = await client.get("/api/v1/bi/messages", headers=bearer(reporting))
    assert r.status_code == 200, r.text
    assert SECRET_TEXT[:10] not in r.text and "Kowalczyk" not in r.text
    mine = [m for m in r.json()["items"] if m["length"] == len(f"{SECRET_TEXT} #0")]
    assert len(mine) >= 3
    assert {m["direction"] for m in mine} == {"in"}
    assert {m["sender_type"] for m in mine} == {"contact"}
    assert {m["channel"] for m in mine} == {"webchat"}
    assert set(mine[0]) == {
        "id",
        "conversation_id",
        "direction",
        "sender_type",
        "sender_id",
        "channel",
        "private",
        "delivery_status",
        "created_at",
        "length",
        "attachments",
    }
    assert mine[0]["created_at"].endswith("Z") and mine[0]["attachments"] == 0
    for route in ROUTES:
        r = await client.get(f"/api/v1/bi/{route}", headers=bearer(reporting))
        assert r.status_code == 200, (route, r.text)
        assert "Kowalczyk" not in r.text


async def test_a_reporting_token_reaches_nothing_else(
    client: httpx.AsyncClient, demo: Demo, reporting: str
) -> None:
    conv_id = (await _chat(client, 1))[0]
    r = await client.post(
        f"/api/v1/conversations/{conv_id}/messages",
        json={"text": "hello"},
        headers=bearer(reporting),
    )
    assert r.status_code == 401
    for path in ("/api/v1/conversations", f"/api/v1/conversations/{conv_id}/messages"):
        assert (await client.get(path, headers=bearer(reporting))).status_code == 401
    async with db.sessionmaker()() as session:
        texts = list(await session.scalars(select(Message.text)))
    assert "hello" not in texts


async def test_only_administrators_read_bi(client: httpx.AsyncClient, demo: Demo) -> None:
    agent = await staff_token(client, "agent@demo.omniline", "demo-agent")
    supervisor = await staff_token(client, "supervisor@demo.omniline", "demo-supervisor")
    admin = await staff_token(client, "admin@demo.omniline", "demo-admin")
    for route in ROUTES:
        for token in (agent, supervisor):
            r = await client.get(f"/api/v1/bi/{route}", headers=bearer(token))
            assert r.status_code == 403, r.text
            assert "reporting token" in r.json()["error"]["message"]
        assert (await client.get(f"/api/v1/bi/{route}", headers=bearer(admin))).status_code == 200
        assert (await client.get(f"/api/v1/bi/{route}")).status_code == 401
    with pytest.raises(Forbidden):
        await reporting_token("agent@demo.omniline")  # nobody gives an agent one


async def test_paging_is_complete_without_duplicates(
    client: httpx.AsyncClient, demo: Demo, reporting: str
) -> None:
    await _chat(client, 7)
    async with db.sessionmaker()() as session:
        counts = {
            "conversations": await session.scalar(select(func.count(Conversation.id))),
            "messages": await session.scalar(select(func.count(Message.id))),
            "events": await session.scalar(select(func.count(ConversationEvent.id))),
        }
    for route, total in counts.items():
        items = await _all(client, route, reporting, limit=3)
        ids = [i["id"] for i in items]
        assert len(ids) == total >= 7
        assert ids == sorted(set(ids))


async def test_filters_and_bounds(client: httpx.AsyncClient, demo: Demo, reporting: str) -> None:
    await _chat(client, 2)
    everything = await _all(client, "conversations", reporting)
    newest = max(c["last_activity_at"] for c in everything)
    recent = await _all(client, "conversations", reporting, updated_since=newest)
    assert recent and all(c["last_activity_at"] >= newest for c in recent)
    assert len(recent) < len(everything)
    first = min(c["created_at"] for c in everything)
    assert await _all(client, "conversations", reporting, to=first) == []
    later = await _all(client, "conversations", reporting, **{"from": first})
    assert len(later) == len(everything)
    for params in (
        {"limit": 1001},
        {"limit": 0},
        {"after_id": -1},
        {"after_id": 2**63},
        {"from": "yesterday"},
    ):
        r = await client.get("/api/v1/bi/messages", params=params, headers=bearer(reporting))
        assert r.status_code == 422, (params, r.text)
    # A window that ends at or before it starts is empty, not an error (schemathesis ST202:
    # the schema cannot say "to after from", and a loader computing windows may make one).
    for window in ({"from": first, "to": first}, {"from": newest, "to": first}):
        assert await _all(client, "conversations", reporting, **window) == []
    r = await client.post("/api/v1/bi/messages", headers=bearer(reporting))
    assert r.status_code == 405 and r.headers["allow"] == "GET, HEAD"


async def test_a_revoked_reporting_token_reads_nothing(
    client: httpx.AsyncClient, demo: Demo, reporting: str
) -> None:
    from omniline.auth import service
    from omniline.auth.models import User

    assert (await client.get("/api/v1/bi/calls", headers=bearer(reporting))).status_code == 200
    async with db.unit_of_work() as session:
        admin = await session.get(User, demo.users["admin"])
        assert admin is not None
        p = await service.principal_for(session, admin)
        # It is listed with the administrator's API tokens, where they revoke it.
        tokens = await service.api_tokens_of(session, admin.id)
        assert [t.kind for t in tokens] == ["reporting"]
        await service.do_revoke_api_token(session, p, tokens[0].id)
    assert (await client.get("/api/v1/bi/calls", headers=bearer(reporting))).status_code == 401
