"""The widget (customer) API of docs/api.md: sessions, messages, history and attachments."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import time
from typing import Any

import httpx
import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import func, select

from omniline import db
from omniline.config import Settings
from omniline.contacts.models import Contact
from omniline.conversations.inbound import InboundMessage
from omniline.conversations.models import Message
from omniline.conversations.service import receive_inbound
from tests.conftest import Demo, bearer, staff_token, visitor
from tests.identity import signed_identity

# A real 1x1 transparent PNG.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="
)
XSS = "<img src=x onerror=alert(1)>"


def sign(secret: str, external_id: str) -> str:
    return hmac.new(secret.encode(), external_id.encode(), hashlib.sha256).hexdigest()


async def start(client: httpx.AsyncClient, **body: Any) -> httpx.Response:
    return await client.post("/api/v1/widget/sessions", json={"inbox_key": "demo-widget", **body})


async def send(client: httpx.AsyncClient, token: str, text: str, **extra: Any) -> dict[str, Any]:
    r = await client.post(
        "/api/v1/widget/messages", json={"text": text, **extra}, headers=bearer(token)
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


async def history(client: httpx.AsyncClient, token: str, **params: Any) -> list[dict[str, Any]]:
    r = await client.get("/api/v1/widget/messages", params=params, headers=bearer(token))
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


async def agent_token(client: httpx.AsyncClient) -> str:
    return await staff_token(client, "agent@demo.omniline", "demo-agent")


def error_fields(r: httpx.Response) -> list[str]:
    body = r.json()
    assert "error" in body, body
    return [f["field"] for f in body["error"].get("fields", [])]


# ---------------------------------------------------------------- sessions


async def test_anonymous_session(client: httpx.AsyncClient, demo: Demo) -> None:
    r = await start(client)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["session_token"]
    assert body["verified"] is False
    assert body["conversation_id"] is None  # nothing written yet
    assert body["inbox"]["id"] == demo.inbox_id
    assert body["inbox"]["name"] == "Website chat"
    assert body["inbox"]["color"] == "#0b6e4f"
    assert "10 minutes" in body["inbox"]["greeting"]
    # Two anonymous visitors are two different customers.
    other = (await start(client)).json()
    assert other["contact_id"] != body["contact_id"]


async def test_previous_token_keeps_the_same_contact(client: httpx.AsyncClient, demo: Demo) -> None:
    first = (await start(client)).json()
    again = await start(client, session_token=first["session_token"])
    assert again.status_code == 201, again.text
    assert again.json()["contact_id"] == first["contact_id"]
    assert again.json()["verified"] is False


async def test_unreadable_previous_token_starts_a_new_visitor(
    client: httpx.AsyncClient, demo: Demo
) -> None:
    first = (await start(client)).json()
    r = await start(client, session_token=first["session_token"][:-4] + "AAAA")
    assert r.status_code == 201, r.text
    assert r.json()["contact_id"] != first["contact_id"]


async def test_signed_identity_matches_the_crm_contact(
    client: httpx.AsyncClient, demo: Demo
) -> None:
    identity = signed_identity(demo.identity_secret, "client-42", name="Olena")
    r = await start(client, identity=identity, locale="uk")
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["verified"] is True

    async with db.sessionmaker()() as session:
        crm = await session.scalar(select(Contact).where(Contact.external_id == "client-42"))
        assert crm is not None
        assert body["contact_id"] == crm.id  # the existing CRM contact, not a new one
        total = await session.scalar(
            select(func.count()).select_from(Contact).where(Contact.external_id == "client-42")
        )
        assert total == 1

    # What the agent sees about that customer: the CRM data of the seed.
    admin = await staff_token(client, "admin@demo.omniline", "demo-admin")
    contact = (
        await client.get(f"/api/v1/contacts/{body['contact_id']}", headers=bearer(admin))
    ).json()
    assert contact["external_id"] == "client-42"
    assert contact["verified"] is True
    assert contact["attributes"]["segment"] == "small business"
    assert [e["name"] for e in contact["events"]] == ["contract_signed"]

    # A second sign-in of the same customer (another device) is the same contact again.
    again = (await start(client, identity=identity)).json()
    assert again["contact_id"] == body["contact_id"]


async def test_verified_token_without_identity_is_not_the_customer(
    client: httpx.AsyncClient, demo: Demo
) -> None:
    """After the customer logs out of the lender's site, the widget must not stay Olena."""
    identity = signed_identity(demo.identity_secret, "client-42")
    olena = (await start(client, identity=identity)).json()
    await send(client, olena["session_token"], "My balance is 12,000 UAH?")
    anonymous = (await start(client, session_token=olena["session_token"])).json()
    assert anonymous["verified"] is False
    assert anonymous["contact_id"] != olena["contact_id"]
    assert await history(client, anonymous["session_token"]) == []


@pytest.mark.parametrize(
    "signature",
    [
        "0" * 64,
        "signature-of-someone-else",
        "from-another-secret",
    ],
)
async def test_wrong_identity_signature_is_refused(
    client: httpx.AsyncClient, demo: Demo, signature: str
) -> None:
    identity = signed_identity(demo.identity_secret, "client-42")
    if signature == "signature-of-someone-else":
        identity["signature"] = signed_identity(demo.identity_secret, "client-43")["signature"]
    elif signature == "from-another-secret":
        identity["signature"] = signed_identity("not-the-inbox-secret", "client-42")["signature"]
    else:
        identity["signature"] = signature
    r = await start(client, identity=identity)
    assert r.status_code == 401, r.text
    assert r.json()["error"]["code"] == "unauthorized"
    assert "session_token" not in r.text


async def test_unknown_inbox_key(client: httpx.AsyncClient, demo: Demo) -> None:
    r = await client.post("/api/v1/widget/sessions", json={"inbox_key": "no-such-inbox"})
    assert r.status_code == 404, r.text
    assert r.json()["error"]["code"] == "not_found"


# ---------------------------------------------------------------- messages


async def test_message_appears_in_history(client: httpx.AsyncClient, demo: Demo) -> None:
    token = await visitor(client)
    msg = await send(client, token, "Where is my loan?")
    assert msg["direction"] == "in"
    assert msg["author"]["type"] == "contact"
    assert msg["text"] == "Where is my loan?"
    assert msg["conversation_id"]
    second = await send(client, token, "Contract 77-1")

    items = await history(client, token)
    assert [(m["id"], m["text"]) for m in items] == [
        (msg["id"], "Where is my loan?"),
        (second["id"], "Contract 77-1"),
    ]
    # after_id returns only what is newer.
    assert [m["id"] for m in await history(client, token, after_id=msg["id"])] == [second["id"]]

    # The session answer now names the open conversation.
    again = (await start(client, session_token=token)).json()
    assert again["conversation_id"] == msg["conversation_id"]


async def test_history_survives_a_new_session(client: httpx.AsyncClient, demo: Demo) -> None:
    token = await visitor(client)
    msg = await send(client, token, "Hello from yesterday")
    renewed = await visitor(client, session_token=token)
    assert [m["id"] for m in await history(client, renewed)] == [msg["id"]]
    # ... and the visitor keeps writing into the same conversation.
    later = await send(client, renewed, "Still waiting")
    assert later["conversation_id"] == msg["conversation_id"]


async def test_other_visitors_history_is_not_shown(client: httpx.AsyncClient, demo: Demo) -> None:
    mine = await visitor(client)
    theirs = await visitor(client)
    await send(client, theirs, "my passport number")
    assert await history(client, mine) == []


async def test_repeated_client_id_is_stored_once(client: httpx.AsyncClient, demo: Demo) -> None:
    token = await visitor(client)
    first = await send(client, token, "Pay 100 UAH", client_id="c-1")
    retry = await send(client, token, "Pay 100 UAH", client_id="c-1")
    assert retry["id"] == first["id"]
    # Two copies in flight at once (a flaky network retrying) are one message too.
    a, b = await asyncio.gather(
        send(client, token, "Pay 200 UAH", client_id="c-2"),
        send(client, token, "Pay 200 UAH", client_id="c-2"),
    )
    assert a["id"] == b["id"]

    assert [m["text"] for m in await history(client, token)] == ["Pay 100 UAH", "Pay 200 UAH"]
    agent = await agent_token(client)
    r = await client.get(
        f"/api/v1/conversations/{first['conversation_id']}/messages", headers=bearer(agent)
    )
    assert [m["text"] for m in r.json()["items"]] == ["Pay 100 UAH", "Pay 200 UAH"]


async def test_same_client_id_of_two_visitors_are_two_messages(
    client: httpx.AsyncClient, demo: Demo
) -> None:
    one, two = await visitor(client), await visitor(client)
    a = await send(client, one, "from one", client_id="1")
    b = await send(client, two, "from two", client_id="1")
    assert a["id"] != b["id"]
    assert [m["text"] for m in await history(client, two)] == ["from two"]


@pytest.mark.parametrize(
    "body",
    [
        {"text": ""},
        {"text": "   \n\t "},
        {"text": "x" * 10_001},
        {},
        {"text": 12},
    ],
    ids=["empty", "whitespace", "too-long", "missing", "not-a-string"],
)
async def test_invalid_text_is_refused(
    client: httpx.AsyncClient, demo: Demo, body: dict[str, Any]
) -> None:
    token = await visitor(client)
    r = await client.post("/api/v1/widget/messages", json=body, headers=bearer(token))
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "validation_error"
    assert error_fields(r) == ["text"]
    assert await history(client, token) == []


async def test_longest_text_is_accepted(client: httpx.AsyncClient, demo: Demo) -> None:
    token = await visitor(client)
    msg = await send(client, token, "y" * 10_000)
    assert len(msg["text"]) == 10_000


def _token_signed_ago(settings: Settings, demo: Demo, contact_id: int, days: int) -> str:
    """A widget token as the server would have issued it ``days`` ago."""

    class Backdated(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - days * 86400

    serializer = URLSafeTimedSerializer(
        settings.secret_key, salt="omniline.widget-session", signer=Backdated
    )
    return str(serializer.dumps([demo.workspace_id, demo.inbox_id, contact_id, 0]))


async def test_bad_expired_or_missing_token(
    client: httpx.AsyncClient, demo: Demo, settings: Settings
) -> None:
    good = (await start(client)).json()
    await send(client, good["session_token"], "hello")
    forged = URLSafeTimedSerializer(
        "another-server-secret-0123456789", salt="omniline.widget-session"
    )
    bad_tokens = {
        "garbage": "garbage",
        "tampered": good["session_token"][:-3]
        + ("AAA" if not good["session_token"].endswith("AAA") else "BBB"),
        "other secret": forged.dumps([demo.workspace_id, demo.inbox_id, good["contact_id"], 0]),
        "expired": _token_signed_ago(
            settings, demo, good["contact_id"], settings.widget_session_days + 1
        ),
    }
    for name, token in bad_tokens.items():
        for r in (
            await client.get("/api/v1/widget/messages", headers=bearer(token)),
            await client.post(
                "/api/v1/widget/messages", json={"text": "hi"}, headers=bearer(token)
            ),
        ):
            assert r.status_code == 401, (name, r.text)
            assert r.json()["error"]["code"] == "unauthorized"
    # The same backdated token inside its lifetime works: it failed for its age alone.
    recent = _token_signed_ago(settings, demo, good["contact_id"], settings.widget_session_days - 1)
    assert [m["text"] for m in await history(client, recent)] == ["hello"]
    r = await client.get("/api/v1/widget/messages")
    assert r.status_code == 401
    r = await client.post("/api/v1/widget/messages", json={"text": "hi"})
    assert r.status_code == 401
    # Nothing of the refused requests was stored.
    assert [m["text"] for m in await history(client, good["session_token"])] == ["hello"]


async def test_html_is_stored_and_returned_as_text(client: httpx.AsyncClient, demo: Demo) -> None:
    token = await visitor(client)
    msg = await send(client, token, XSS)
    assert msg["text"] == XSS
    assert [m["text"] for m in await history(client, token)] == [XSS]
    agent = await agent_token(client)
    r = await client.get(
        f"/api/v1/conversations/{msg['conversation_id']}/messages", headers=bearer(agent)
    )
    assert [m["text"] for m in r.json()["items"]] == [XSS]
    listing = (await client.get("/api/v1/conversations", headers=bearer(agent))).json()
    assert listing["items"][0]["last_message"]["text"] == XSS


async def test_private_notes_never_reach_the_widget(client: httpx.AsyncClient, demo: Demo) -> None:
    token = await visitor(client)
    msg = await send(client, token, "Can I delay my payment?")
    agent = await agent_token(client)
    url = f"/api/v1/conversations/{msg['conversation_id']}/messages"
    note = await client.post(
        url, json={"text": "Customer is 30 days overdue", "private": True}, headers=bearer(agent)
    )
    assert note.status_code == 201, note.text
    reply = await client.post(url, json={"text": "Yes, by 7 days."}, headers=bearer(agent))
    assert reply.status_code == 201, reply.text

    items = await history(client, token)
    assert [m["text"] for m in items] == ["Can I delay my payment?", "Yes, by 7 days."]
    assert [m["text"] for m in await history(client, token, after_id=msg["id"])] == [
        "Yes, by 7 days."
    ]
    assert "overdue" not in str(items)


async def test_long_history_shows_the_newest_messages(
    client: httpx.AsyncClient, demo: Demo
) -> None:
    """A customer of long standing reloads the chat: the latest messages are there."""
    session_body = (await start(client)).json()
    token, contact_id = session_body["session_token"], session_body["contact_id"]
    async with db.unit_of_work() as session:
        await receive_inbound(
            session,
            [
                InboundMessage(demo.workspace_id, demo.inbox_id, f"m{i}", contact_id=contact_id)
                for i in range(1005)
            ],
        )
    latest = await send(client, token, "the newest one")

    items = await history(client, token)
    assert items[-1]["id"] == latest["id"]
    assert [m["text"] for m in items[-3:]] == ["m1003", "m1004", "the newest one"]
    ids = [m["id"] for m in items]
    assert ids == sorted(ids)
    # A client catching up from an old id gets the next ones in order, without a gap.
    first = (await history(client, token, after_id=0))[0]
    caught_up = await history(client, token, after_id=first["id"])
    assert caught_up[0]["text"] == "m1"
    assert [m["text"] for m in await history(client, token, after_id=items[-2]["id"])] == [
        "the newest one"
    ]
    # The agent opening the conversation sees the newest messages too.
    agent = await agent_token(client)
    staff = await client.get(
        f"/api/v1/conversations/{latest['conversation_id']}/messages", headers=bearer(agent)
    )
    assert staff.json()["items"][-1]["text"] == "the newest one"


# ---------------------------------------------------------------- attachments


async def upload(
    client: httpx.AsyncClient,
    token: str,
    name: str,
    data: bytes,
    content_type: str,
    text: str | None = None,
) -> httpx.Response:
    return await client.post(
        "/api/v1/widget/attachments",
        files={"file": (name, data, content_type)},
        data={"text": text} if text is not None else None,
        headers=bearer(token),
    )


async def test_upload_and_download_an_image(client: httpx.AsyncClient, demo: Demo) -> None:
    token = await visitor(client)
    r = await upload(client, token, "receipt.png", PNG, "image/png", text="my receipt")
    assert r.status_code == 201, r.text
    msg = r.json()
    assert msg["text"] == "my receipt"
    (att,) = msg["attachments"]
    assert att["filename"] == "receipt.png"
    assert att["content_type"] == "image/png"
    assert att["size"] == len(PNG)
    assert att["url"].startswith("/api/v1/")

    got = await client.get(att["url"], params={"token": token})
    assert got.status_code == 200, got.text
    assert got.content == PNG
    assert got.headers["content-type"] == "image/png"

    # It is part of the visitor's history, and the agent sees the same file.
    (item,) = await history(client, token)
    assert item["attachments"][0]["id"] == att["id"]
    agent = await agent_token(client)
    staff_msgs = (
        await client.get(
            f"/api/v1/conversations/{msg['conversation_id']}/messages", headers=bearer(agent)
        )
    ).json()["items"]
    staff_url = staff_msgs[0]["attachments"][0]["url"]
    staff_file = await client.get(staff_url, headers=bearer(agent))
    assert staff_file.status_code == 200
    assert staff_file.content == PNG


async def test_another_visitor_cannot_download(client: httpx.AsyncClient, demo: Demo) -> None:
    owner = await visitor(client)
    r = await upload(client, owner, "passport.png", PNG, "image/png")
    assert r.status_code == 201, r.text
    url = r.json()["attachments"][0]["url"]
    stranger = await visitor(client)
    got = await client.get(url, params={"token": stranger})
    assert got.status_code == 404, got.text
    assert got.json()["error"]["code"] == "not_found"
    assert PNG not in got.content
    assert (await client.get(url)).status_code == 401
    assert (await client.get(url, params={"token": "forged"})).status_code == 401


async def test_agents_files_reach_the_visitor_but_not_private_ones(
    client: httpx.AsyncClient, demo: Demo
) -> None:
    token = await visitor(client)
    conv = (await send(client, token, "Send me the contract"))["conversation_id"]
    agent = await agent_token(client)

    async def staff_upload(name: str, private: bool) -> dict[str, Any]:
        r = await client.post(
            f"/api/v1/conversations/{conv}/attachments",
            files={"file": (name, PNG, "image/png")},
            data={"text": name, "private": "true" if private else "false"},
            headers=bearer(agent),
        )
        assert r.status_code == 201, r.text
        return dict(r.json()["attachments"][0])

    public = await staff_upload("contract.png", private=False)
    secret = await staff_upload("risk-score.png", private=True)

    items = await history(client, token)
    assert [m["text"] for m in items] == ["Send me the contract", "contract.png"]
    widget_url = items[-1]["attachments"][0]["url"]
    got = await client.get(widget_url, params={"token": token})
    assert got.status_code == 200
    assert got.content == PNG
    r = await client.get(f"/api/v1/widget/attachments/{secret['id']}", params={"token": token})
    assert r.status_code == 404, r.text
    assert public["id"] != secret["id"]


async def test_uploaded_file_name_cannot_climb_out(client: httpx.AsyncClient, demo: Demo) -> None:
    token = await visitor(client)
    r = await upload(client, token, "../../../etc/cron.d/evil.png", PNG, "image/png")
    assert r.status_code == 201, r.text
    att = r.json()["attachments"][0]
    assert att["filename"] == "evil.png"
    got = await client.get(att["url"], params={"token": token})
    assert got.content == PNG


async def test_file_over_the_limit(
    client: httpx.AsyncClient, demo: Demo, settings: Settings
) -> None:
    token = await visitor(client)
    big = b"\x89PNG" + b"0" * settings.upload_max_bytes
    r = await upload(client, token, "big.png", big, "image/png")
    assert r.status_code == 413, r.text
    assert r.json()["error"]["code"] == "payload_too_large"
    # Exactly the limit is fine.
    ok = await upload(client, token, "limit.png", big[: settings.upload_max_bytes], "image/png")
    assert ok.status_code == 201, ok.text
    assert [m["attachments"][0]["filename"] for m in await history(client, token)] == ["limit.png"]


async def test_refused_file_type(client: httpx.AsyncClient, demo: Demo) -> None:
    token = await visitor(client)
    r = await upload(client, token, "invoice.exe", b"MZ\x90\x00", "application/x-msdownload")
    assert r.status_code == 415, r.text
    assert r.json()["error"]["code"] == "unsupported_media_type"
    # HTML is refused too: served from our origin it could run script.
    r = await upload(client, token, "page.html", b"<script>alert(1)</script>", "text/html")
    assert r.status_code == 415, r.text
    assert await history(client, token) == []


async def test_missing_file_field(client: httpx.AsyncClient, demo: Demo) -> None:
    token = await visitor(client)
    r = await client.post(
        "/api/v1/widget/attachments",
        files={"document": ("a.png", PNG, "image/png")},
        headers=bearer(token),
    )
    assert r.status_code == 400, r.text
    assert r.json()["error"]["code"] == "bad_request"
    r = await client.post(
        "/api/v1/widget/attachments", data={"text": "no file"}, headers=bearer(token)
    )
    assert r.status_code == 400, r.text
    assert await history(client, token) == []


async def test_upload_needs_a_session(client: httpx.AsyncClient, demo: Demo) -> None:
    r = await client.post("/api/v1/widget/attachments", files={"file": ("a.png", PNG, "image/png")})
    assert r.status_code == 401, r.text
    async with db.sessionmaker()() as session:
        assert await session.scalar(select(func.count()).select_from(Message)) == 0
