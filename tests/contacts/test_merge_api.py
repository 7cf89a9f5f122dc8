"""Merging the same customer's contacts from two channels, and finding the candidates."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from omniline import db
from omniline.auth import service as users
from omniline.contacts import service as contacts
from omniline.contacts.models import Contact, ContactEvent
from omniline.conversations.models import ConversationEvent, Message
from omniline.workspaces import service as workspaces
from tests.conftest import Demo, bearer, staff_token, visitor
from tests.contacts.people import make_inbox, telegram_and_whatsapp, writes

ADMIN = ("admin@demo.omniline", "demo-admin")
AGENT = ("agent@demo.omniline", "demo-agent")


async def _admin(client: httpx.AsyncClient) -> dict[str, str]:
    return bearer(await staff_token(client, *ADMIN))


async def test_duplicates_are_found_by_phone_in_any_written_form(
    client: httpx.AsyncClient, demo: Demo
) -> None:
    ivan, same = await telegram_and_whatsapp(demo)
    headers = await _admin(client)
    r = await client.get(f"/api/v1/contacts/{ivan.contact_id}/duplicates", headers=headers)
    assert r.status_code == 200, r.text
    (item,) = r.json()["items"]
    assert item["id"] == same.contact_id
    assert item["channels"] == ["whatsapp"]
    assert item["conversations"] == 1
    assert item["verified"] is False
    assert item["same"] == ["phone"]
    back = await client.get(f"/api/v1/contacts/{same.contact_id}/duplicates", headers=headers)
    assert [i["id"] for i in back.json()["items"]] == [ivan.contact_id]


async def test_duplicates_by_email_ignore_case_and_skip_strangers(
    client: httpx.AsyncClient, demo: Demo
) -> None:
    email_inbox = await make_inbox(demo, "email")
    tg = await make_inbox(demo, "telegram")
    letter = await writes(demo, email_inbox, "olena@example.com", email="Olena@Example.com")
    chat = await writes(demo, tg, "tg-7", email="olena@example.com")
    await writes(demo, tg, "tg-8", email="someone.else@example.com")
    r = await client.get(
        f"/api/v1/contacts/{letter.contact_id}/duplicates", headers=await _admin(client)
    )
    assert [(i["id"], i["same"]) for i in r.json()["items"]] == [(chat.contact_id, ["email"])]


async def test_merge_moves_identities_conversations_and_events_and_fills_fields(
    client: httpx.AsyncClient, demo: Demo
) -> None:
    ivan, same = await telegram_and_whatsapp(demo)
    async with db.unit_of_work() as session:
        keep = await session.get(Contact, ivan.contact_id)
        other = await session.get(Contact, same.contact_id)
        assert keep is not None and other is not None
        keep.attributes = {"segment": "retail"}
        other.attributes = {"segment": "vip", "loan": "Micro 50"}
        other.email, other.language, other.verified = "ivan@example.com", "uk", True
        other.external_id = "client-77"
        await contacts.do_add_event(session, demo.workspace_id, other.id, "loan_paid", {})
    headers = await _admin(client)

    r = await client.post(
        f"/api/v1/contacts/{ivan.contact_id}/merge",
        json={"other_id": same.contact_id},
        headers=headers,
    )
    assert r.status_code == 200, r.text
    merged = r.json()
    assert merged["id"] == ivan.contact_id
    assert merged["name"] == "Ivan Petrenko"  # kept: the field was not empty
    assert merged["email"] == "ivan@example.com" and merged["language"] == "uk"
    assert merged["phone"] == "+380671234567"
    assert merged["external_id"] == "client-77" and merged["verified"] is True
    assert merged["attributes"] == {"segment": "retail", "loan": "Micro 50"}
    channels = {i["channel"] for i in merged["identities"]}
    assert {"telegram", "whatsapp"} <= channels and "merged" not in channels
    assert sorted(c["id"] for c in merged["conversations"]) == sorted(
        [ivan.conversation_id, same.conversation_id]
    )
    assert [e["name"] for e in merged["events"]] == ["loan_paid"]

    gone = await client.get(f"/api/v1/contacts/{same.contact_id}", headers=headers)
    assert gone.status_code == 404
    detail = await client.get(f"/api/v1/conversations/{same.conversation_id}", headers=headers)
    assert detail.json()["contact"]["id"] == ivan.contact_id

    async with db.sessionmaker()() as session:
        authors = set(
            await session.scalars(
                select(Message.author_id).where(Message.conversation_id == same.conversation_id)
            )
        )
        merged_events = list(
            await session.scalars(
                select(ConversationEvent).where(ConversationEvent.type == "contact_merged")
            )
        )
        events_left = await session.scalar(
            select(ContactEvent.id).where(ContactEvent.contact_id == same.contact_id)
        )
    assert authors == {ivan.contact_id}
    names = {e.conversation_id: e.data["with_name"] for e in merged_events}
    assert names == {
        ivan.conversation_id: f"Visitor #{same.contact_id}",
        same.conversation_id: "Ivan Petrenko",
    }
    assert all(e.actor_name == "Alex Admin" for e in merged_events)
    assert events_left is None
    timeline = await client.get(
        f"/api/v1/conversations/{same.conversation_id}/events", headers=headers
    )
    assert "contact_merged" in [e["type"] for e in timeline.json()["items"]]


async def test_a_later_message_of_the_merged_channel_joins_the_kept_contact(
    client: httpx.AsyncClient, demo: Demo
) -> None:
    ivan, same = await telegram_and_whatsapp(demo)
    headers = await _admin(client)
    r = await client.post(
        f"/api/v1/contacts/{ivan.contact_id}/merge",
        json={"other_id": same.contact_id},
        headers=headers,
    )
    assert r.status_code == 200
    again = await writes(demo, same.inbox_id, "380671234567", text="Thanks!")
    assert again.contact_id == ivan.contact_id
    assert again.conversation_id == same.conversation_id


async def test_merge_input_is_checked(client: httpx.AsyncClient, demo: Demo) -> None:
    ivan, same = await telegram_and_whatsapp(demo)
    headers = await _admin(client)
    url = f"/api/v1/contacts/{ivan.contact_id}/merge"
    for body in ({}, {"other_id": "abc"}, {"other_id": 0}, {"other_id": same.contact_id, "x": 1}):
        r = await client.post(url, json=body, headers=headers)
        assert r.status_code == 422, (body, r.text)
        fields = [f["field"] for f in r.json()["error"]["fields"]]
        assert any(f.endswith("other_id") or f.endswith("x") for f in fields), r.text
    itself = await client.post(url, json={"other_id": ivan.contact_id}, headers=headers)
    assert itself.status_code == 422
    assert itself.json()["error"]["fields"][0]["field"] == "other_id"
    unknown = await client.post(url, json={"other_id": 999_999}, headers=headers)
    assert unknown.status_code == 404

    async with db.unit_of_work() as session:
        ws = await workspaces.do_create_workspace(session, name="Other bank", slug="other-bank")
        stranger = Contact(workspace_id=ws.id, name="Stranger", phone="+380671234567")
        session.add(stranger)
        await session.flush()
        stranger_id = stranger.id
    across = await client.post(url, json={"other_id": stranger_id}, headers=headers)
    assert across.status_code == 404
    dupes = await client.get(f"/api/v1/contacts/{ivan.contact_id}/duplicates", headers=headers)
    assert stranger_id not in [i["id"] for i in dupes.json()["items"]]
    assert (
        await client.get(f"/api/v1/contacts/{same.contact_id}", headers=headers)
    ).status_code == 200


async def test_who_may_merge(client: httpx.AsyncClient, demo: Demo) -> None:
    ivan, hidden = await telegram_and_whatsapp(demo, whatsapp_queue="Tech support")
    async with db.unit_of_work() as session:
        await users.do_create_user(
            session,
            workspace_id=demo.workspace_id,
            email="qa@demo.omniline",
            name="Quinn QA",
            password="demo-qa-pass",
            role="qa",
        )
    qa = bearer(await staff_token(client, "qa@demo.omniline", "demo-qa-pass"))
    agent = bearer(await staff_token(client, *AGENT))
    url = f"/api/v1/contacts/{ivan.contact_id}/merge"
    r = await client.post(url, json={"other_id": hidden.contact_id}, headers=qa)
    assert r.status_code == 403
    # Anna works the first line only: the WhatsApp contact is in Tech support.
    r = await client.post(url, json={"other_id": hidden.contact_id}, headers=agent)
    assert r.status_code == 404
    dupes = await client.get(f"/api/v1/contacts/{ivan.contact_id}/duplicates", headers=agent)
    assert dupes.status_code == 200 and dupes.json()["items"] == []
    blocked = await client.get(f"/api/v1/contacts/{hidden.contact_id}/duplicates", headers=agent)
    assert blocked.status_code == 404
    # A colleague who sees both merges them.
    boss = bearer(await staff_token(client, "supervisor@demo.omniline", "demo-supervisor"))
    r = await client.post(url, json={"other_id": hidden.contact_id}, headers=boss)
    assert r.status_code == 200, r.text


async def test_a_widget_session_of_a_merged_visitor_moves_to_the_kept_contact(
    client: httpx.AsyncClient, demo: Demo
) -> None:
    token = await visitor(client)
    sent = await client.post(
        "/api/v1/widget/messages", json={"text": "Hi, it is Ivan"}, headers=bearer(token)
    )
    assert sent.status_code == 201
    tg = await make_inbox(demo, "telegram")
    ivan = await writes(demo, tg, "tg-100", name="Ivan Petrenko")
    headers = await _admin(client)
    conv_id = sent.json()["conversation_id"]
    detail = await client.get(f"/api/v1/conversations/{conv_id}", headers=headers)
    old_contact = detail.json()["contact"]["id"]
    r = await client.post(
        f"/api/v1/contacts/{ivan.contact_id}/merge", json={"other_id": old_contact}, headers=headers
    )
    assert r.status_code == 200, r.text

    stale = await client.post(
        "/api/v1/widget/messages", json={"text": "still there?"}, headers=bearer(token)
    )
    assert stale.status_code == 401
    renewed = await client.post(
        "/api/v1/widget/sessions", json={"inbox_key": demo.inbox_key, "session_token": token}
    )
    assert renewed.status_code == 201
    assert renewed.json()["contact_id"] == ivan.contact_id
    assert renewed.json()["conversation_id"] == conv_id
    fresh = bearer(renewed.json()["session_token"])
    history = await client.get("/api/v1/widget/messages", headers=fresh)
    assert [m["text"] for m in history.json()["items"]] == ["Hi, it is Ivan"]
    again = await client.post("/api/v1/widget/messages", json={"text": "ok"}, headers=fresh)
    assert again.status_code == 201 and again.json()["conversation_id"] == conv_id
