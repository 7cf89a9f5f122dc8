"""A logged-in customer's identity: every field the site asserts is signed, with an expiry;
an anonymous visitor who signs in keeps their chat."""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from omniline import db
from omniline.contacts.models import Contact
from omniline.conversations.models import Conversation, ConversationEvent
from tests.conftest import Demo, bearer, staff_token
from tests.identity import identity_string, signed_identity


async def start(client: httpx.AsyncClient, **body: Any) -> httpx.Response:
    return await client.post("/api/v1/widget/sessions", json={"inbox_key": "demo-widget", **body})


async def send(client: httpx.AsyncClient, token: str, text: str) -> None:
    r = await client.post("/api/v1/widget/messages", json={"text": text}, headers=bearer(token))
    assert r.status_code == 201, r.text


async def history(client: httpx.AsyncClient, token: str) -> list[str]:
    r = await client.get("/api/v1/widget/messages", headers=bearer(token))
    assert r.status_code == 200, r.text
    return [m["text"] for m in r.json()["items"]]


async def contact_row(external_id: str) -> Contact:
    async with db.sessionmaker()() as session:
        found = await session.scalar(select(Contact).where(Contact.external_id == external_id))
        assert found is not None
        return found


async def test_a_signature_of_the_customer_number_alone_cannot_set_the_name(
    client: httpx.AsyncClient, demo: Demo
) -> None:
    """The old scheme signed only the external id: a page could then rename a verified
    customer, change their email or phone, and agents would trust it."""
    old_style = hmac.new(demo.identity_secret.encode(), b"client-42", hashlib.sha256).hexdigest()
    before = await contact_row("client-42")
    r = await start(
        client,
        identity={
            "external_id": "client-42",
            "signature": old_style,
            "name": "Mallory",
            "email": "mallory@evil.example",
            "phone": "+380990000000",
        },
    )
    assert r.status_code == 401, r.text
    after = await contact_row("client-42")
    assert (after.name, after.email, after.phone) == (before.name, before.email, before.phone)


async def test_signed_fields_are_stored(client: httpx.AsyncClient, demo: Demo) -> None:
    identity = signed_identity(
        demo.identity_secret,
        "client-42",
        name="Olena Kovalenko",
        email="Olena.K@example.com",
        phone="+380501234567",
    )
    r = await start(client, identity=identity)
    assert r.status_code == 201, r.text
    assert r.json()["verified"] is True
    row = await contact_row("client-42")
    assert row.name == "Olena Kovalenko"
    assert row.email == "olena.k@example.com"
    assert row.phone == "+380501234567"
    assert row.verified is True


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", "Mallory"),
        ("email", "mallory@evil.example"),
        ("phone", "+380990000000"),
        ("external_id", "client-43"),
    ],
)
async def test_changing_any_signed_field_is_refused(
    client: httpx.AsyncClient, demo: Demo, field: str, value: str
) -> None:
    identity = signed_identity(
        demo.identity_secret, "client-42", name="Olena", email="olena@example.com"
    )
    identity[field] = value
    r = await start(client, identity=identity)
    assert r.status_code == 401, r.text
    assert "session_token" not in r.text


async def test_adding_a_field_the_site_did_not_sign_is_refused(
    client: httpx.AsyncClient, demo: Demo
) -> None:
    identity = signed_identity(demo.identity_secret, "client-42", name="Olena")
    identity["email"] = "mallory@evil.example"
    r = await start(client, identity=identity)
    assert r.status_code == 401, r.text
    assert (await contact_row("client-42")).email != "mallory@evil.example"


async def test_an_empty_signed_field_does_not_erase_what_is_known(
    client: httpx.AsyncClient, demo: Demo
) -> None:
    before = await contact_row("client-42")
    assert before.name
    r = await start(client, identity=signed_identity(demo.identity_secret, "client-42"))
    assert r.status_code == 201, r.text
    assert (await contact_row("client-42")).name == before.name


async def test_an_expired_identity_is_refused(client: httpx.AsyncClient, demo: Demo) -> None:
    identity = signed_identity(demo.identity_secret, "client-42", expires_in=-600)
    r = await start(client, identity=identity)
    assert r.status_code == 401, r.text
    assert "expired" in r.json()["error"]["message"]


async def test_an_identity_valid_for_too_long_is_refused(
    client: httpx.AsyncClient, demo: Demo
) -> None:
    identity = signed_identity(demo.identity_secret, "client-42", expires_in=400 * 86400)
    r = await start(client, identity=identity)
    assert r.status_code == 401, r.text
    assert "expires" in r.json()["error"]["message"]


async def test_an_identity_without_expiry_is_refused_with_a_pointer_to_the_docs(
    client: httpx.AsyncClient, demo: Demo
) -> None:
    identity = signed_identity(demo.identity_secret, "client-42")
    del identity["expires"]
    r = await start(client, identity=identity)
    assert r.status_code == 401, r.text
    assert "expires" in r.json()["error"]["message"]


async def test_line_breaks_in_a_field_are_refused(client: httpx.AsyncClient, demo: Demo) -> None:
    """Each field is one line of the signed text: a line break could move text between fields."""
    expires = int(time.time()) + 600
    fields = {"external_id": "client-42", "name": "Olena\nemail=mallory@evil.example"}
    message = identity_string(fields, expires)
    sig = hmac.new(demo.identity_secret.encode(), message.encode(), hashlib.sha256).hexdigest()
    r = await start(client, identity={**fields, "expires": expires, "signature": sig})
    assert r.status_code == 422, r.text


async def test_an_anonymous_chat_joins_the_customer_who_signs_in(
    client: httpx.AsyncClient, demo: Demo
) -> None:
    anonymous = (await start(client)).json()
    await send(client, anonymous["session_token"], "Hello, how do I repay early?")
    identity = signed_identity(demo.identity_secret, "client-42", name="Olena")
    signed_in = await start(client, identity=identity, session_token=anonymous["session_token"])
    assert signed_in.status_code == 201, signed_in.text
    body = signed_in.json()
    crm = await contact_row("client-42")
    assert body["contact_id"] == crm.id
    assert body["verified"] is True
    # The chat the visitor started goes on under the verified customer.
    assert body["conversation_id"] is not None
    assert "Hello, how do I repay early?" in await history(client, body["session_token"])
    await send(client, body["session_token"], "I am logged in now")

    async with db.sessionmaker()() as session:
        convs = list(
            await session.scalars(select(Conversation).where(Conversation.contact_id == crm.id))
        )
        assert body["conversation_id"] in [c.id for c in convs]
        assert await session.get(Contact, anonymous["contact_id"]) is None
        merged = await session.scalar(
            select(ConversationEvent).where(
                ConversationEvent.conversation_id == body["conversation_id"],
                ConversationEvent.type == "contact_merged",
            )
        )
        assert merged is not None
        assert merged.actor_type == "system"

    # The agent sees one customer, verified, with the whole chat.
    agent = await staff_token(client, "admin@demo.omniline", "demo-admin")
    r = await client.get(f"/api/v1/conversations/{body['conversation_id']}", headers=bearer(agent))
    assert r.status_code == 200, r.text
    r = await client.get(
        f"/api/v1/conversations/{body['conversation_id']}/messages", headers=bearer(agent)
    )
    texts = [m["text"] for m in r.json()["items"]]
    assert "Hello, how do I repay early?" in texts
    assert "I am logged in now" in texts


async def test_after_logout_the_old_anonymous_token_does_not_open_the_customer(
    client: httpx.AsyncClient, demo: Demo
) -> None:
    """A shared computer in a branch: the anonymous token of the browser joined Olena at
    login; whoever uses the browser after she logs out must not get her chat."""
    anonymous = (await start(client)).json()
    await send(client, anonymous["session_token"], "My card number question")
    identity = signed_identity(demo.identity_secret, "client-42")
    olena = (
        await start(client, identity=identity, session_token=anonymous["session_token"])
    ).json()
    assert olena["verified"] is True

    after = await start(client, session_token=anonymous["session_token"])
    assert after.status_code == 201, after.text
    body = after.json()
    assert body["verified"] is False
    assert body["contact_id"] != olena["contact_id"]
    assert await history(client, body["session_token"]) == []


async def test_a_verified_customer_token_is_not_joined_into_another_customer(
    client: httpx.AsyncClient, demo: Demo
) -> None:
    first = (
        await start(client, identity=signed_identity(demo.identity_secret, "client-42"))
    ).json()
    await send(client, first["session_token"], "Olena's question")
    other = await start(
        client,
        identity=signed_identity(demo.identity_secret, "client-77", name="Petro"),
        session_token=first["session_token"],
    )
    assert other.status_code == 201, other.text
    body = other.json()
    assert body["contact_id"] != first["contact_id"]
    assert await history(client, body["session_token"]) == []
    assert "Olena's question" in await history(client, first["session_token"])
