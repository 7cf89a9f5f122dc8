"""Who sees what: workspaces are walled off, queues lock conversations, QA only reads."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import update

from omniline import db
from omniline.auth import service as auth_service
from omniline.config import Settings
from omniline.conversations.models import Conversation
from omniline.inboxes import service as inboxes
from omniline.workspaces import service as workspaces
from tests.conftest import Demo, bearer, staff_token, visitor
from tests.identity import signed_identity

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="
)


@dataclass
class Side:
    """One workspace as seen by its admin and one of its customers."""

    staff: dict[str, str]
    visitor: str
    conversation_id: int
    contact_id: int
    attachment_url: str
    inbox_id: int


async def customer_with_file(
    client: httpx.AsyncClient, inbox_key: str, text: str
) -> tuple[str, dict[str, Any]]:
    token = await visitor(client, inbox_key)
    r = await client.post("/api/v1/widget/messages", json={"text": text}, headers=bearer(token))
    assert r.status_code == 201, r.text
    r = await client.post(
        "/api/v1/widget/attachments",
        files={"file": ("statement.png", PNG, "image/png")},
        headers=bearer(token),
    )
    assert r.status_code == 201, r.text
    return token, r.json()


async def side(
    client: httpx.AsyncClient, inbox_key: str, inbox_id: int, who: tuple[str, str], text: str
) -> Side:
    token, msg = await customer_with_file(client, inbox_key, text)
    staff = bearer(await staff_token(client, *who))
    conv = (
        await client.get(f"/api/v1/conversations/{msg['conversation_id']}", headers=staff)
    ).json()
    staff_msgs = (
        await client.get(f"/api/v1/conversations/{msg['conversation_id']}/messages", headers=staff)
    ).json()["items"]
    return Side(
        staff=staff,
        visitor=token,
        conversation_id=msg["conversation_id"],
        contact_id=conv["contact"]["id"],
        attachment_url=staff_msgs[-1]["attachments"][0]["url"],
        inbox_id=inbox_id,
    )


async def make_other_workspace() -> tuple[int, int, str]:
    """A second tenant with its own admin, queue and widget; returns (workspace, inbox, secret)."""
    async with db.unit_of_work() as session:
        ws = await workspaces.do_create_workspace(session, name="Other Bank", slug="other-bank")
        await auth_service.do_create_user(
            session,
            workspace_id=ws.id,
            email="admin@other.example",
            name="Olga Other",
            password="other-admin-pw",
            role="admin",
        )
        queue = await workspaces.do_create_queue(session, ws.id, "First line")
        inbox = await inboxes.do_create_inbox(
            session,
            ws.id,
            channel="webchat",
            name="Other chat",
            key="other-widget",
            default_queue_id=queue.id,
            identity_secret="other-identity-secret",
        )
        return ws.id, inbox.id, inbox.identity_secret


async def test_workspaces_are_walled_off(client: httpx.AsyncClient, demo: Demo) -> None:
    other_ws, other_inbox, _ = await make_other_workspace()
    ours = await side(
        client, "demo-widget", demo.inbox_id, ("admin@demo.omniline", "demo-admin"), "demo secret"
    )
    theirs = await side(
        client,
        "other-widget",
        other_inbox,
        ("admin@other.example", "other-admin-pw"),
        "other secret",
    )
    me = (await client.get("/api/v1/me", headers=theirs.staff)).json()
    assert me["workspace_id"] == other_ws != demo.workspace_id

    for me_, them in ((ours, theirs), (theirs, ours)):
        conv = them.conversation_id
        for method, path, body in [
            ("GET", f"/api/v1/conversations/{conv}", None),
            ("GET", f"/api/v1/conversations/{conv}/messages", None),
            ("GET", f"/api/v1/conversations/{conv}/events", None),
            ("POST", f"/api/v1/conversations/{conv}/messages", {"text": "leak?"}),
            ("POST", f"/api/v1/conversations/{conv}/assign", {"assignee_id": None}),
            ("POST", f"/api/v1/conversations/{conv}/resolve", None),
            ("PUT", f"/api/v1/conversations/{conv}/tags", {"tags": ["x"]}),
            ("GET", f"/api/v1/contacts/{them.contact_id}", None),
            ("GET", them.attachment_url, None),
        ]:
            r = await client.request(method, path, json=body, headers=me_.staff)
            assert r.status_code == 404, (method, path, r.text)
            assert "secret" not in r.text
        # A customer cannot fetch the other tenant's file either.
        widget_url = them.attachment_url.replace(
            "/api/v1/attachments/", "/api/v1/widget/attachments/"
        )
        r = await client.get(widget_url, params={"token": me_.visitor})
        assert r.status_code == 404, r.text

        # Lists never show the other side, whatever the filter.
        for params in (
            {},
            {"inbox_id": them.inbox_id},
            {"status": "open"},
            {"assignee_id": "none"},
        ):
            page = (
                await client.get("/api/v1/conversations", params=params, headers=me_.staff)
            ).json()
            assert them.conversation_id not in [c["id"] for c in page["items"]]
        page = (await client.get("/api/v1/conversations", headers=me_.staff)).json()
        assert [c["id"] for c in page["items"]] == [me_.conversation_id]
        assert page["counts"]["open"] == 1
        inbox_ids = [
            i["id"]
            for i in (await client.get("/api/v1/inboxes", headers=me_.staff)).json()["items"]
        ]
        assert me_.inbox_id in inbox_ids and them.inbox_id not in inbox_ids
        names = [
            u["name"]
            for u in (await client.get("/api/v1/users", headers=me_.staff)).json()["items"]
        ]
        assert ("Olga Other" in names) == (me_ is theirs)

    # Nothing was changed by the refused writes.
    conv = (
        await client.get(f"/api/v1/conversations/{theirs.conversation_id}", headers=theirs.staff)
    ).json()
    assert conv["status"] == "queued"
    assert conv["tags"] == []
    msgs = (
        await client.get(
            f"/api/v1/conversations/{theirs.conversation_id}/messages", headers=theirs.staff
        )
    ).json()
    assert "leak?" not in [m["text"] for m in msgs["items"]]

    # An admin cannot hand a conversation to someone of another workspace.
    r = await client.post(
        f"/api/v1/conversations/{theirs.conversation_id}/assign",
        json={"assignee_id": demo.users["agent"]},
        headers=theirs.staff,
    )
    assert r.status_code == 404, r.text
    assert r.json()["error"]["fields"][0]["field"] == "assignee_id"


async def test_identities_are_per_workspace(client: httpx.AsyncClient, demo: Demo) -> None:
    """The same CRM id in another tenant is another customer: no CRM data crosses over."""
    _, _, secret = await make_other_workspace()
    r = await client.post(
        "/api/v1/widget/sessions",
        json={"inbox_key": "other-widget", "identity": signed_identity(secret, "client-42")},
    )
    assert r.status_code == 201, r.text
    other_contact = r.json()["contact_id"]
    admin = bearer(await staff_token(client, "admin@other.example", "other-admin-pw"))
    contact = (await client.get(f"/api/v1/contacts/{other_contact}", headers=admin)).json()
    assert contact["external_id"] == "client-42"
    assert contact["attributes"] == {}
    assert contact["events"] == []
    assert contact["phone"] is None
    # The demo inbox's signature does not open the other tenant's widget.
    r = await client.post(
        "/api/v1/widget/sessions",
        json={
            "inbox_key": "other-widget",
            "identity": signed_identity(demo.identity_secret, "client-42"),
        },
    )
    assert r.status_code == 401, r.text


async def _move_to_tech_support(demo: Demo, conv_id: int) -> None:
    async with db.unit_of_work() as session:
        await session.execute(
            update(Conversation)
            .where(Conversation.id == conv_id)
            .values(queue_id=demo.queues["Tech support"])
        )


async def _tech_support_case(client: httpx.AsyncClient, demo: Demo) -> int:
    """A customer's text and file, then the case is moved to "Tech support" (no agents)."""
    _, msg = await customer_with_file(client, "demo-widget", "The app crashes on login")
    await _move_to_tech_support(demo, msg["conversation_id"])
    return int(msg["conversation_id"])


async def test_queue_the_agent_may_not_see_is_a_locked_row(
    client: httpx.AsyncClient, demo: Demo
) -> None:
    conv = await _tech_support_case(client, demo)
    sup = bearer(await staff_token(client, "supervisor@demo.omniline", "demo-supervisor"))
    # A tag set by someone who may see it must not leak through the locked row.
    r = await client.put(
        f"/api/v1/conversations/{conv}/tags", json={"tags": ["fraud"]}, headers=sup
    )
    assert r.status_code == 200, r.text
    staff_att = (await client.get(f"/api/v1/conversations/{conv}/messages", headers=sup)).json()[
        "items"
    ][-1]["attachments"][0]["url"]
    contact_id = (await client.get(f"/api/v1/conversations/{conv}", headers=sup)).json()["contact"][
        "id"
    ]

    for who in ("agent", "agent2"):
        agent = bearer(await staff_token(client, f"{who}@demo.omniline", "demo-agent"))
        page = (await client.get("/api/v1/conversations", headers=agent)).json()
        (row,) = page["items"]
        assert row["id"] == conv
        assert row["locked"] is True
        assert row["contact"] is None
        assert row["last_message"] is None
        assert row["tags"] == []
        assert row["queue"]["name"] == "Tech support"
        assert "crashes" not in str(page)
        for method, path, body in [
            ("GET", f"/api/v1/conversations/{conv}", None),
            ("GET", f"/api/v1/conversations/{conv}/messages", None),
            ("GET", f"/api/v1/conversations/{conv}/events", None),
            ("POST", f"/api/v1/conversations/{conv}/messages", {"text": "peek"}),
            ("POST", f"/api/v1/conversations/{conv}/assign", {"assignee_id": demo.users[who]}),
            ("POST", f"/api/v1/conversations/{conv}/resolve", None),
            ("PUT", f"/api/v1/conversations/{conv}/tags", {"tags": []}),
            ("GET", staff_att, None),
            ("GET", f"/api/v1/contacts/{contact_id}", None),
        ]:
            r = await client.request(method, path, json=body, headers=agent)
            assert r.status_code == 404, (who, method, path, r.text)

    # The supervisor's team owns the queue; the admin sees everything.
    for email, password in (
        ("supervisor@demo.omniline", "demo-supervisor"),
        ("admin@demo.omniline", "demo-admin"),
    ):
        staff = bearer(await staff_token(client, email, password))
        (row,) = (await client.get("/api/v1/conversations", headers=staff)).json()["items"]
        assert row["locked"] is False
        assert row["last_message"]["text"] == ""  # the file's message has no text
        assert row["tags"] == ["fraud"]
        r = await client.get(f"/api/v1/conversations/{conv}/messages", headers=staff)
        assert r.status_code == 200, r.text
        assert [m["text"] for m in r.json()["items"]] == ["The app crashes on login", ""]
        assert (await client.get(staff_att, headers=staff)).content == PNG

    # Nothing the agents tried went through.
    r = await client.get(f"/api/v1/conversations/{conv}", headers=sup)
    assert r.json()["status"] == "queued"
    assert r.json()["assignee"] is None
    assert r.json()["tags"] == ["fraud"]


async def test_assigned_conversation_is_visible_outside_the_agents_queues(
    client: httpx.AsyncClient, demo: Demo
) -> None:
    conv = await _tech_support_case(client, demo)
    sup = bearer(await staff_token(client, "supervisor@demo.omniline", "demo-supervisor"))
    r = await client.post(
        f"/api/v1/conversations/{conv}/assign",
        json={"assignee_id": demo.users["agent"]},
        headers=sup,
    )
    assert r.status_code == 200, r.text

    agent = bearer(await staff_token(client, "agent@demo.omniline", "demo-agent"))
    (row,) = (await client.get("/api/v1/conversations", headers=agent)).json()["items"]
    assert row["locked"] is False
    assert row["last_message"] is not None
    assert (await client.get(f"/api/v1/conversations/{conv}", headers=agent)).status_code == 200
    r = await client.post(
        f"/api/v1/conversations/{conv}/messages", json={"text": "Reinstall, please"}, headers=agent
    )
    assert r.status_code == 201, r.text
    # The other agent of the same queues still sees it locked.
    agent2 = bearer(await staff_token(client, "agent2@demo.omniline", "demo-agent"))
    (row,) = (await client.get("/api/v1/conversations", headers=agent2)).json()["items"]
    assert row["locked"] is True
    assert (await client.get(f"/api/v1/conversations/{conv}", headers=agent2)).status_code == 404


def stored_files(settings: Settings) -> int:
    return sum(1 for f in settings.uploads_dir.rglob("*") if f.is_file())


async def test_qa_reads_but_does_not_write(
    client: httpx.AsyncClient, demo: Demo, settings: Settings
) -> None:
    async with db.unit_of_work() as session:
        await auth_service.do_create_user(
            session,
            workspace_id=demo.workspace_id,
            email="qa@demo.omniline",
            name="Quinn QA",
            password="demo-qa-pass",
            role="qa",
        )
    conv = await _tech_support_case(client, demo)
    qa = bearer(await staff_token(client, "qa@demo.omniline", "demo-qa-pass"))

    (row,) = (await client.get("/api/v1/conversations", headers=qa)).json()["items"]
    assert row["locked"] is False
    assert (await client.get(f"/api/v1/conversations/{conv}", headers=qa)).status_code == 200
    msgs = await client.get(f"/api/v1/conversations/{conv}/messages", headers=qa)
    assert msgs.status_code == 200
    assert msgs.json()["items"][0]["text"] == "The app crashes on login"
    assert (await client.get(f"/api/v1/conversations/{conv}/events", headers=qa)).status_code == 200

    for method, path, body in [
        ("POST", f"/api/v1/conversations/{conv}/messages", {"text": "QA here"}),
        ("POST", f"/api/v1/conversations/{conv}/messages", {"text": "note", "private": True}),
        ("POST", f"/api/v1/conversations/{conv}/resolve", None),
        ("PUT", f"/api/v1/conversations/{conv}/tags", {"tags": ["audited"]}),
        ("POST", f"/api/v1/conversations/{conv}/assign", {"assignee_id": demo.users["agent"]}),
    ]:
        r = await client.request(method, path, json=body, headers=qa)
        assert r.status_code == 403, (method, path, r.text)
        assert r.json()["error"]["code"] == "forbidden"
    files_before = stored_files(settings)
    r = await client.post(
        f"/api/v1/conversations/{conv}/attachments",
        files={"file": ("a.png", PNG, "image/png")},
        headers=qa,
    )
    assert r.status_code == 403, r.text
    assert stored_files(settings) == files_before  # the refused file was not kept

    after = (await client.get(f"/api/v1/conversations/{conv}/messages", headers=qa)).json()["items"]
    assert len(after) == 2  # the customer's text and file, nothing from QA
    view = (await client.get(f"/api/v1/conversations/{conv}", headers=qa)).json()
    assert (view["status"], view["tags"], view["assignee"]) == ("queued", [], None)
    # A QA person is not someone to hand a conversation to.
    sup = bearer(await staff_token(client, "supervisor@demo.omniline", "demo-supervisor"))
    me = (await client.get("/api/v1/me", headers=qa)).json()
    r = await client.post(
        f"/api/v1/conversations/{conv}/assign", json={"assignee_id": me["id"]}, headers=sup
    )
    assert r.status_code == 422, r.text
