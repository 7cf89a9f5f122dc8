"""Administrative changes land in the audit log with who, from where, before and after."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from omniline import db
from omniline.audit.models import AuditEntry
from omniline.auth import service as users
from omniline.auth.models import User
from omniline.auth.principal import Principal
from omniline.inboxes import service as inboxes
from omniline.webhooks import service as webhooks
from tests.conftest import Demo, bearer, staff_token
from tests.routing.helpers import bank, issue_rules


async def _log(prefix: str) -> list[AuditEntry]:
    async with db.unit_of_work() as session:
        stmt = select(AuditEntry).where(AuditEntry.action.startswith(prefix))
        return list(await session.scalars(stmt.order_by(AuditEntry.id)))


async def test_routing_rule_changes_name_the_admin_and_the_difference(
    client: httpx.AsyncClient, demo: Demo
) -> None:
    async with db.unit_of_work() as session:
        queues = await bank(session, demo)
    admin = bearer(await staff_token(client, "admin@demo.omniline", "demo-admin"))
    headers = {**admin, "user-agent": "AdminBrowser/2"}
    rule = issue_rules(queues)[0]
    r = await client.post("/api/v1/routing/rules", json=rule, headers=headers)
    rid = r.json()["id"]
    changed = {**rule, "priority": 20}
    assert (
        await client.put(f"/api/v1/routing/rules/{rid}", json=changed, headers=headers)
    ).status_code == 200
    assert (await client.delete(f"/api/v1/routing/rules/{rid}", headers=headers)).status_code == 204
    created, updated, deleted = await _log("routing_rule.")
    assert [e.action for e in (created, updated, deleted)] == [
        "routing_rule.created",
        "routing_rule.updated",
        "routing_rule.deleted",
    ]
    assert updated.actor_id == demo.users["admin"] and updated.user_agent == "AdminBrowser/2"
    assert updated.data == {"before": {"priority": 10}, "after": {"priority": 20}}
    assert updated.target_id == str(rid) and updated.target_label == "Mail"
    assert set(deleted.data["after"].values()) == {None}
    assert deleted.data["before"]["name"] == "Mail"


async def test_user_and_inbox_changes_redact_secrets_and_skip_no_ops(demo: Demo) -> None:
    async with db.unit_of_work() as session:
        user = await session.get(User, demo.users["agent"])
        assert user is not None
        await users.do_update_user(session, user, role="supervisor", password="new-secret-1")
        await users.do_update_user(session, user, role="supervisor")  # nothing changes
        inbox = await inboxes.do_create_inbox(
            session, demo.workspace_id, channel="webchat", name="Site", identity_secret="s3cr3t"
        )
    (entry,) = [e for e in await _log("user.updated") if e.target_id == str(demo.users["agent"])]
    assert entry.data["after"] == {"role": "supervisor", "password_hash": "[redacted]"}
    assert entry.data["before"]["role"] == "agent"
    assert "new-secret" not in str(entry.data)
    (made,) = [e for e in await _log("inbox.created") if e.target_id == str(inbox.id)]
    assert made.data["after"]["identity_secret"] == "[redacted]"
    assert "s3cr3t" not in str(made.data)


async def test_webhook_secret_rotation_is_logged_without_the_secret(demo: Demo) -> None:
    admin = Principal(demo.users["admin"], demo.workspace_id, "admin", "Alex", "a@x", "en", None)
    async with db.unit_of_work() as session:
        sub = await webhooks.do_create(
            session, admin, url="https://hooks.example.com/in", event_types=["message.created"]
        )
        old_secret = sub.secret
        await webhooks.do_rotate_secret(session, admin, sub.id)
        new_secret = sub.secret
    created, rotated = await _log("webhook.")
    assert created.action == "webhook.created" and rotated.action == "webhook.secret_rotated"
    assert rotated.data == {"before": {"secret": "[redacted]"}, "after": {"secret": "[redacted]"}}
    assert rotated.actor_id == demo.users["admin"]
    assert old_secret not in str(created.data) and new_secret not in str(rotated.data)
