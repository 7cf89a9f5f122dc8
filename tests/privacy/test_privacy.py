"""Retention anonymises old conversations and keeps their counts; a contact's export and
erasure work, are admin-only and land in the audit log."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import func, select, update

from omniline import db
from omniline.audit.models import AuditEntry
from omniline.contacts.models import Contact, ContactIdentity
from omniline.conversations.models import Conversation, Message
from omniline.jobs.models import Job
from omniline.jobs.runner import Runner
from omniline.kit.clock import utcnow
from tests.conftest import Demo, bearer, staff_token, visitor
from tests.workspaces.test_admin_pages import login_admin

ADMIN = ("admin@demo.omniline", "demo-admin")
AGENT = ("agent@demo.omniline", "demo-agent")


async def _writes(client: httpx.AsyncClient, text: str) -> int:
    token = await visitor(client)
    r = await client.post("/api/v1/widget/messages", json={"text": text}, headers=bearer(token))
    assert r.status_code == 201, r.text
    return int(r.json()["conversation_id"])


async def _age(conv_id: int, days: int, status: str = "resolved") -> None:
    async with db.unit_of_work() as session:
        await session.execute(
            update(Conversation)
            .where(Conversation.id == conv_id)
            .values(status=status, last_activity_at=utcnow() - timedelta(days=days))
        )


async def _actions() -> list[str]:
    async with db.unit_of_work() as session:
        return list(await session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


async def test_retention_job_removes_old_text_and_keeps_counts(
    client: httpx.AsyncClient, demo: Demo
) -> None:
    old = await _writes(client, "my address is 1 Old Street")
    recent = await _writes(client, "recent question")
    still_open = await _writes(client, "open but old")
    await _age(old, 40)
    await _age(recent, 5)
    await _age(still_open, 40, status="queued")
    admin = bearer(await staff_token(client, *ADMIN))
    r = await client.put("/api/v1/privacy/retention", json={"retention_days": 30}, headers=admin)
    assert r.status_code == 200, r.text
    while await Runner().run_due():  # the sweep, and whatever the messages queued
        pass
    async with db.unit_of_work() as session:
        texts = dict((await session.execute(select(Message.conversation_id, Message.text))).all())
        counts = await session.scalar(
            select(func.count()).select_from(Message).where(Message.conversation_id == old)
        )
        conv = await session.get(Conversation, old)
        next_sweeps = await session.scalar(
            select(func.count()).select_from(Job).where(Job.kind == "retention_sweep")
        )
    assert texts[old] == "" and texts[recent] == "recent question"
    assert texts[still_open] == "open but old"
    assert counts == 1 and conv is not None and conv.anonymised_at is not None
    assert next_sweeps == 2  # the one that ran, and the next one a day later
    assert {"workspace.settings_changed", "retention.anonymised"} <= set(await _actions())
    bad = await client.put("/api/v1/privacy/retention", json={"retention_days": 0}, headers=admin)
    assert bad.status_code == 422


async def test_export_and_erase_a_contact(client: httpx.AsyncClient, demo: Demo) -> None:
    conv_id = await _writes(client, "my passport is 45 06 123456")
    async with db.unit_of_work() as session:
        contact_id = (await session.get(Conversation, conv_id)).contact_id  # type: ignore[union-attr]
        contact = await session.get(Contact, contact_id)
        assert contact is not None
        contact.name, contact.email = "Ivan Petrov", "ivan@example.com"
    admin = bearer(await staff_token(client, *ADMIN))
    agent = bearer(await staff_token(client, *AGENT))
    assert (
        await client.get(f"/api/v1/contacts/{contact_id}/export", headers=agent)
    ).status_code == 403
    r = await client.get(f"/api/v1/contacts/{contact_id}/export", headers=admin)
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["contact"]["email"] == "ivan@example.com"
    assert data["conversations"][0]["messages"][0]["text"] == "my passport is 45 06 123456"

    url = f"/api/v1/contacts/{contact_id}/erase"
    assert (await client.post(url, json={}, headers=admin)).status_code == 422
    assert (await client.post(url, json={"confirm": True}, headers=agent)).status_code == 403
    r = await client.post(url, json={"confirm": True}, headers=admin)
    assert r.status_code == 200 and r.json() == {"erased": True, "conversations": 1}
    async with db.unit_of_work() as session:
        contact = await session.get(Contact, contact_id)
        assert contact is not None and (contact.name, contact.email) == ("", None)
        idents = await session.scalar(
            select(func.count())
            .select_from(ContactIdentity)
            .where(ContactIdentity.contact_id == contact_id)
        )
        assert idents == 0
        texts = list(
            await session.scalars(select(Message.text).where(Message.conversation_id == conv_id))
        )
    assert texts == [""]
    actions = await _actions()
    assert "contact.exported" in actions and "contact.erased" in actions
    missing = await client.get("/api/v1/contacts/999999/export", headers=admin)
    assert missing.status_code == 404


async def test_privacy_page_erases_only_with_confirmation(
    client: httpx.AsyncClient, demo: Demo
) -> None:
    conv_id = await _writes(client, "hello")
    async with db.unit_of_work() as session:
        contact_id = (await session.get(Conversation, conv_id)).contact_id  # type: ignore[union-attr]
    csrf = await login_admin(client)
    form = {"csrf_token": csrf, "contact_id": str(contact_id)}
    r = await client.post("/admin/privacy/erase", data=form)
    assert r.status_code == 422
    r = await client.post("/admin/privacy/erase", data={**form, "confirm": "erase"})
    assert r.status_code == 303
    r = await client.post("/admin/privacy/export", data=form)
    assert r.status_code == 200 and r.json()["contact"]["name"] == ""
