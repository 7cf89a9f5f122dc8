"""The audit log: sign-ins from auth events, contact opens, the admin API and page, append-only."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.exc import DBAPIError

from omniline import db
from omniline.audit import service as audit
from omniline.audit.models import AuditEntry
from omniline.auth.models import User
from omniline.kit.hooks import DomainEvent, emit
from tests.conftest import Demo, bearer, staff_token, visitor

ADMIN = ("admin@demo.omniline", "demo-admin")
AGENT = ("agent@demo.omniline", "demo-agent")


@pytest.fixture(autouse=True)
def _fresh_window() -> None:
    audit.forget_recent_views()


async def _entries(action: str) -> list[AuditEntry]:
    async with db.unit_of_work() as session:
        stmt = select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
        return list(await session.scalars(stmt))


async def test_login_events_become_audit_rows(client: httpx.AsyncClient, demo: Demo) -> None:
    uid = demo.users["admin"]
    async with db.unit_of_work() as session:
        data = {"user_id": uid, "email": "admin@demo.omniline", "ip": "203.0.113.7"}
        data |= {"user_agent": "Firefox/140", "method": "password", "reason": None}
        await emit(session, DomainEvent("auth.login_succeeded", demo.workspace_id, data))
    async with db.unit_of_work() as session:
        data = {"user_id": None, "email": "nobody@example.com", "ip": "198.51.100.1"}
        data |= {"user_agent": "curl/8", "method": "password", "reason": "unknown_email"}
        await emit(session, DomainEvent("auth.login_failed", 0, data))
    (ok,) = await _entries("auth.login")
    assert (ok.actor_id, ok.ip, ok.user_agent) == (uid, "203.0.113.7", "Firefox/140")
    assert ok.workspace_id == demo.workspace_id and ok.data == {"method": "password"}
    (bad,) = await _entries("auth.login_failed")
    assert bad.actor_id is None and bad.actor_label == "nobody@example.com"
    assert (
        bad.data == {"method": "password", "reason": "unknown_email"} and bad.ip == "198.51.100.1"
    )


async def _conversation(client: httpx.AsyncClient) -> int:
    token = await visitor(client)
    r = await client.post("/api/v1/widget/messages", json={"text": "hello"}, headers=bearer(token))
    assert r.status_code in (200, 201), r.text
    return int(r.json()["conversation_id"])


async def test_opening_a_contact_is_logged_once_per_window(
    client: httpx.AsyncClient, demo: Demo
) -> None:
    conv_id = await _conversation(client)
    headers = {**bearer(await staff_token(client, *ADMIN)), "user-agent": "Edge/1"}
    for _ in range(3):
        r = await client.get(f"/api/v1/conversations/{conv_id}", headers=headers)
        assert r.status_code == 200, r.text
    contact_id = r.json()["contact"]["id"]
    (row,) = await _entries("contact.viewed")
    assert (row.actor_id, row.target_type, row.target_id) == (
        demo.users["admin"],
        "contact",
        str(contact_id),
    )
    assert row.user_agent == "Edge/1" and row.ip


async def test_api_filters_pages_and_refuses_agents(client: httpx.AsyncClient, demo: Demo) -> None:
    async with db.unit_of_work() as session:
        for n in range(5):
            await audit.record(
                session,
                "sample_b.updated" if n % 2 else "sample_a.updated",
                workspace_id=demo.workspace_id,
                target_type="queue" if n % 2 else "user",
                target_id=n,
                before={"name": f"old {n}", "secret_key": "s1"},
                after={"name": f"new {n}", "secret_key": "s2"},
            )
    admin = bearer(await staff_token(client, *ADMIN))
    r = await client.get("/api/v1/audit", params={"action": "sample_a.", "limit": 2}, headers=admin)
    assert r.status_code == 200, r.text
    body = r.json()
    assert [i["target_id"] for i in body["items"]] == ["4", "2"]
    assert body["items"][0]["data"] == {
        "before": {"name": "old 4", "secret_key": "[redacted]"},
        "after": {"name": "new 4", "secret_key": "[redacted]"},
    }
    nxt = await client.get(
        "/api/v1/audit",
        params={"action": "sample_a.", "limit": 2, "before_id": body["next_before_id"]},
        headers=admin,
    )
    assert [i["target_id"] for i in nxt.json()["items"]] == ["0"]
    assert nxt.json()["next_before_id"] is None
    agent = bearer(await staff_token(client, *AGENT))
    assert (await client.get("/api/v1/audit", headers=agent)).status_code == 403
    bad = await client.get("/api/v1/audit", params={"action": "x' or 1=1"}, headers=admin)
    assert bad.status_code == 422


async def test_rows_cannot_be_changed_or_deleted_and_outlive_their_user(demo: Demo) -> None:
    uid = demo.users["agent"]
    async with db.unit_of_work() as session:
        await audit.record(session, "sample.kept", workspace_id=demo.workspace_id, actor_id=uid)
    for stmt in (
        update(AuditEntry).values(action="forged"),
        delete(AuditEntry),
    ):
        with pytest.raises(DBAPIError):
            async with db.unit_of_work() as session:
                await session.execute(stmt)
    async with db.unit_of_work() as session:
        await session.execute(delete(User).where(User.id == uid))
    (row,) = await _entries("sample.kept")
    assert row.actor_id == uid
