"""The staff API of docs/api.md: sign-in, the conversation list and the actions on a case."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import event, update

from omniline import db
from omniline.conversations.inbound import InboundMessage
from omniline.conversations.models import Conversation
from omniline.conversations.service import receive_inbound
from tests.conftest import Demo, bearer, staff_token, visitor

AGENT = ("agent@demo.omniline", "demo-agent")
AGENT2 = ("agent2@demo.omniline", "demo-agent")
SUPERVISOR = ("supervisor@demo.omniline", "demo-supervisor")
ADMIN = ("admin@demo.omniline", "demo-admin")


async def login(client: httpx.AsyncClient, who: tuple[str, str]) -> dict[str, str]:
    return bearer(await staff_token(client, *who))


async def customer_writes(
    client: httpx.AsyncClient, text: str, token: str | None = None
) -> tuple[str, int]:
    """A widget visitor writes; returns their session token and the conversation id."""
    token = token or await visitor(client)
    r = await client.post("/api/v1/widget/messages", json={"text": text}, headers=bearer(token))
    assert r.status_code == 201, r.text
    return token, int(r.json()["conversation_id"])


async def set_conversation(conv_id: int, **values: Any) -> None:
    async with db.unit_of_work() as session:
        await session.execute(update(Conversation).where(Conversation.id == conv_id).values(values))


async def bulk_conversations(demo: Demo, n: int, *, per_batch: int = 7, tag: str = "") -> None:
    """``n`` customers write through the core, ``per_batch`` per commit.

    One batch shares one timestamp (as the ingest batcher stores concurrent
    messages), so the list must break ties of ``last_activity_at`` by id.
    """
    done = 0
    while done < n:
        size = min(per_batch, n - done)
        async with db.unit_of_work() as session:
            await receive_inbound(
                session,
                [
                    InboundMessage(
                        workspace_id=demo.workspace_id,
                        inbox_id=demo.inbox_id,
                        text=f"customer {done + i}",
                        sender_address=f"bulk-{tag}-{done + i}",
                    )
                    for i in range(size)
                ],
            )
        done += size


async def listing(client: httpx.AsyncClient, headers: dict[str, str], **params: Any) -> Any:
    r = await client.get("/api/v1/conversations", params=params, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def ids(page: Any) -> list[int]:
    return [c["id"] for c in page["items"]]


async def widget_history(client: httpx.AsyncClient, token: str) -> list[dict[str, Any]]:
    r = await client.get("/api/v1/widget/messages", headers=bearer(token))
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


# ---------------------------------------------------------------- sign-in


async def test_login_and_me(client: httpx.AsyncClient, demo: Demo) -> None:
    r = await client.post(
        "/api/v1/auth/login", json={"email": "Agent@Demo.Omniline ", "password": "demo-agent"}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "bearer"
    assert body["expires_at"]
    assert body["user"]["email"] == "agent@demo.omniline"
    me = await client.get("/api/v1/me", headers=bearer(body["access_token"]))
    assert me.status_code == 200, me.text
    assert me.json() == {
        "id": demo.users["agent"],
        "email": "agent@demo.omniline",
        "name": "Anna Agent",
        "role": "agent",
        "locale": "en",
        "workspace_id": demo.workspace_id,
    }


@pytest.mark.parametrize(
    "credentials",
    [
        {"email": "agent@demo.omniline", "password": "demo-agent2"},
        {"email": "agent@demo.omniline", "password": "demo-supervisor"},
        {"email": "nobody@demo.omniline", "password": "demo-agent"},
    ],
    ids=["wrong-password", "another-users-password", "unknown-email"],
)
async def test_login_refused(
    client: httpx.AsyncClient, demo: Demo, credentials: dict[str, str]
) -> None:
    r = await client.post("/api/v1/auth/login", json=credentials)
    assert r.status_code == 401, r.text
    assert r.json()["error"]["code"] == "unauthorized"
    assert "access_token" not in r.text


async def test_me_needs_a_valid_token(client: httpx.AsyncClient, demo: Demo) -> None:
    assert (await client.get("/api/v1/me")).status_code == 401
    assert (await client.get("/api/v1/me", headers=bearer("oml_made-up"))).status_code == 401
    # A widget visitor's token is not a staff token.
    token = await visitor(client)
    assert (await client.get("/api/v1/me", headers=bearer(token))).status_code == 401
    assert (await client.get("/api/v1/conversations", headers=bearer(token))).status_code == 401


# ---------------------------------------------------------------- the list


async def test_list_filters_and_counts(client: httpx.AsyncClient, demo: Demo) -> None:
    sup = await login(client, SUPERVISOR)
    agent = await login(client, AGENT)
    _, queued = await customer_writes(client, "queued one")
    _, mine = await customer_writes(client, "mine")
    _, done = await customer_writes(client, "done")
    _, business = await customer_writes(client, "business one")
    await client.post(
        f"/api/v1/conversations/{mine}/assign",
        json={"assignee_id": demo.users["agent"]},
        headers=agent,
    )
    await client.post(
        f"/api/v1/conversations/{mine}/messages", json={"text": "On it"}, headers=agent
    )
    assert (
        await client.post(f"/api/v1/conversations/{done}/resolve", headers=sup)
    ).status_code == 200
    await set_conversation(business, queue_id=demo.queues["Business assistants"])
    r = await client.put(
        f"/api/v1/conversations/{business}/tags", json={"tags": ["Loan"]}, headers=sup
    )
    assert r.status_code == 200, r.text

    everything = await listing(client, sup)
    assert set(ids(everything)) == {queued, mine, done, business}
    assert everything["counts"] == {
        "open": 3,
        "bot": 0,
        "queued": 2,
        "waiting_customer": 1,
        "assigned": 0,
        "resolved": 1,
        "closed": 0,
    }
    by_id = {c["id"]: c for c in everything["items"]}
    assert by_id[mine]["status"] == "waiting_customer"
    assert by_id[mine]["assignee"] == {"id": demo.users["agent"], "name": "Anna Agent"}
    assert by_id[mine]["last_message"]["text"] == "On it"
    assert by_id[mine]["last_message"]["direction"] == "out"
    assert by_id[business]["queue"] == {
        "id": demo.queues["Business assistants"],
        "name": "Business assistants",
    }
    assert by_id[business]["tags"] == ["loan"]
    assert by_id[queued]["inbox"] == {
        "id": demo.inbox_id,
        "name": "Website chat",
        "channel": "webchat",
    }

    cases: list[tuple[dict[str, Any], set[int]]] = [
        ({"status": "open"}, {queued, mine, business}),
        ({"status": "queued"}, {queued, business}),
        ({"status": "waiting_customer"}, {mine}),
        ({"status": "resolved"}, {done}),
        ({"status": "closed"}, set()),
        ({"queue_id": demo.queues["Business assistants"]}, {business}),
        ({"queue_id": demo.queues["First line"]}, {queued, mine, done}),
        ({"queue_id": demo.queues["Tech support"]}, set()),
        ({"inbox_id": demo.inbox_id}, {queued, mine, done, business}),
        ({"inbox_id": demo.inbox_id + 1000}, set()),
        ({"channel": "webchat"}, {queued, mine, done, business}),
        ({"channel": "email"}, set()),
        ({"assignee_id": demo.users["agent"]}, {mine}),
        ({"assignee_id": "none"}, {queued, business, done}),
        ({"assignee_id": demo.users["agent2"]}, set()),
        ({"tag": "loan"}, {business}),
        ({"tag": "LOAN "}, {business}),
        ({"tag": "card"}, set()),
        ({"status": "open", "assignee_id": "none"}, {queued, business}),
    ]
    for params, expected in cases:
        assert set(ids(await listing(client, sup, **params))) == expected, params

    # "me" is whoever asks.
    assert ids(await listing(client, agent, assignee_id="me")) == [mine]
    assert ids(await listing(client, sup, assignee_id="me")) == []

    # Counts apply every filter but the status one.
    counts = (await listing(client, sup, status="resolved", queue_id=demo.queues["First line"]))[
        "counts"
    ]
    assert counts == {
        "open": 2,
        "bot": 0,
        "queued": 1,
        "waiting_customer": 1,
        "assigned": 0,
        "resolved": 1,
        "closed": 0,
    }
    assert (await listing(client, sup, tag="loan"))["counts"]["open"] == 1


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "pending"}, "status"),
        ({"assignee_id": "someone"}, "assignee_id"),
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"queue_id": "first"}, "queue_id"),
    ],
)
async def test_list_refuses_bad_filters(
    client: httpx.AsyncClient, demo: Demo, params: dict[str, Any], field: str
) -> None:
    r = await client.get("/api/v1/conversations", params=params, headers=await login(client, ADMIN))
    assert r.status_code == 422, r.text
    assert [f["field"] for f in r.json()["error"]["fields"]] == [field]


async def test_keyset_pagination_returns_every_conversation_once(
    client: httpx.AsyncClient, demo: Demo
) -> None:
    await bulk_conversations(demo, 120)
    admin = await login(client, ADMIN)
    await customer_writes(client, "warm-up")
    # The first customer of all writes again: their conversation moves to the top.
    async with db.unit_of_work() as session:
        (back,) = await receive_inbound(
            session,
            [
                InboundMessage(
                    demo.workspace_id, demo.inbox_id, "back again", sender_address="bulk--0"
                )
            ],
        )

    seen: list[dict[str, Any]] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 50}
        if cursor:
            params["cursor"] = cursor
        page = await listing(client, admin, **params)
        pages += 1
        seen.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
        assert len(page["items"]) == 50
        assert pages < 5, "the cursor does not move on"
    assert pages == 3
    all_ids = [c["id"] for c in seen]
    assert len(all_ids) == 121
    assert len(set(all_ids)) == 121
    keys = [(datetime.fromisoformat(c["last_activity_at"]), c["id"]) for c in seen]
    assert keys == sorted(keys, reverse=True)
    assert seen[0]["id"] == back.message.conversation_id == min(all_ids)
    assert seen[0]["last_message"]["text"] == "back again"
    assert seen[1]["last_message"]["text"] == "warm-up"
    # Ties of last_activity_at exist (one batch shares a timestamp) and are broken by id.
    assert len({c["last_activity_at"] for c in seen}) < len(seen)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage",
        "!!!!",
        "1.",
        ".1",
        "-1.5",
        "1.5.6",
        "1e3.5",
        "1" * 19 + ".5",
        "5." + "1" * 19,
        _b64(json.dumps(["2026-01-01T00:00:00+00:00", 5]).encode()),  # the old form
    ],
)
async def test_garbage_cursor(client: httpx.AsyncClient, demo: Demo, cursor: str) -> None:
    r = await client.get(
        "/api/v1/conversations", params={"cursor": cursor}, headers=await login(client, ADMIN)
    )
    assert r.status_code == 422, r.text
    assert [f["field"] for f in r.json()["error"]["fields"]] == ["cursor"]


@pytest.mark.parametrize("sort", ["activity", "due"])
@pytest.mark.parametrize("cursor", ["0.0", "1767225600000000.5", "9" * 18 + "." + "9" * 18])
async def test_a_cursor_the_schema_allows_is_a_place_to_start(
    client: httpx.AsyncClient, demo: Demo, app: Any, cursor: str, sort: str
) -> None:
    """The cursor was base64 JSON that the schema could not describe: schema-valid cursors
    were refused (schemathesis ST202). Now the schema's pattern is the whole rule."""
    (param,) = [
        x
        for x in app.openapi()["paths"]["/api/v1/conversations"]["get"]["parameters"]
        if x["name"] == "cursor"
    ]
    (pattern,) = [s["pattern"] for s in param["schema"]["anyOf"] if "pattern" in s]
    assert re.fullmatch(pattern, cursor)
    admin = await login(client, ADMIN)
    r = await client.get(
        "/api/v1/conversations", params={"cursor": cursor, "sort": sort}, headers=admin
    )
    assert r.status_code == 200, r.text


# ---------------------------------------------------------------- replies and notes


async def test_reply_reaches_the_visitor_with_the_agents_name(
    client: httpx.AsyncClient, demo: Demo
) -> None:
    token, conv = await customer_writes(client, "Hello?")
    agent = await login(client, AGENT)
    r = await client.post(
        f"/api/v1/conversations/{conv}/messages", json={"text": "Hello, Anna here."}, headers=agent
    )
    assert r.status_code == 201, r.text
    msg = r.json()
    assert msg["direction"] == "out"
    assert msg["private"] is False
    assert msg["author"] == {"type": "agent", "id": demo.users["agent"], "name": "Anna Agent"}

    items = await widget_history(client, token)
    assert [(m["direction"], m["text"]) for m in items] == [
        ("in", "Hello?"),
        ("out", "Hello, Anna here."),
    ]
    assert items[1]["author"] == {"type": "agent", "name": "Anna Agent"}
    # Replying took the conversation, and now the customer is to answer.
    conv_view = (await client.get(f"/api/v1/conversations/{conv}", headers=agent)).json()
    assert conv_view["assignee"]["id"] == demo.users["agent"]
    assert conv_view["status"] == "waiting_customer"
    assert conv_view["first_agent_reply_at"] is not None
    # The customer answers: back with the agent.
    await customer_writes(client, "Thanks", token)
    conv_view = (await client.get(f"/api/v1/conversations/{conv}", headers=agent)).json()
    assert conv_view["status"] == "assigned"


async def test_private_note_is_for_staff_only(client: httpx.AsyncClient, demo: Demo) -> None:
    token, conv = await customer_writes(client, "Can you waive the fee?")
    agent = await login(client, AGENT)
    r = await client.post(
        f"/api/v1/conversations/{conv}/messages",
        json={"text": "Ask the supervisor first", "private": True},
        headers=agent,
    )
    assert r.status_code == 201, r.text
    assert r.json()["private"] is True

    for who in (AGENT, AGENT2, SUPERVISOR):
        staff = (
            await client.get(
                f"/api/v1/conversations/{conv}/messages", headers=await login(client, who)
            )
        ).json()
        assert [(m["text"], m["private"]) for m in staff["items"]] == [
            ("Can you waive the fee?", False),
            ("Ask the supervisor first", True),
        ]
    assert [m["text"] for m in await widget_history(client, token)] == ["Can you waive the fee?"]
    # A note does not change what the list shows as the last message, nor the status.
    row = (await listing(client, agent))["items"][0]
    assert row["last_message"]["text"] == "Can you waive the fee?"
    assert row["status"] == "queued"


@pytest.mark.parametrize(
    "body",
    [{"text": "x" * 10_001}, {"text": "  "}, {"text": ""}, {}, {"text": "ok", "private": "maybe"}],
    ids=["too-long", "blank", "empty", "missing", "bad-private"],
)
async def test_invalid_reply(client: httpx.AsyncClient, demo: Demo, body: dict[str, Any]) -> None:
    token, conv = await customer_writes(client, "Hi")
    agent = await login(client, AGENT)
    r = await client.post(f"/api/v1/conversations/{conv}/messages", json=body, headers=agent)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "validation_error"
    expected = "private" if "private" in body else "text"
    assert [f["field"] for f in r.json()["error"]["fields"]] == [expected]
    assert [m["text"] for m in await widget_history(client, token)] == ["Hi"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "messages"),
        ("POST", "assign"),
        ("PUT", "tags"),
    ],
)
async def test_invalid_json_body(
    client: httpx.AsyncClient, demo: Demo, method: str, path: str
) -> None:
    _, conv = await customer_writes(client, "Hi")
    r = await client.request(
        method,
        f"/api/v1/conversations/{conv}/{path}",
        content=b'{"text": "unterminated',
        headers={**await login(client, AGENT), "Content-Type": "application/json"},
    )
    assert r.status_code == 400, r.text
    assert r.json()["error"]["code"] == "bad_request"


async def test_unknown_conversation(client: httpx.AsyncClient, demo: Demo) -> None:
    admin = await login(client, ADMIN)
    for method, path, body in [
        ("GET", "", None),
        ("GET", "/messages", None),
        ("GET", "/events", None),
        ("POST", "/messages", {"text": "hi"}),
        ("POST", "/assign", {"assignee_id": None}),
        ("POST", "/resolve", None),
        ("POST", "/reopen", None),
        ("PUT", "/tags", {"tags": ["x"]}),
    ]:
        r = await client.request(
            method, f"/api/v1/conversations/999999{path}", json=body, headers=admin
        )
        assert r.status_code == 404, (method, path, r.text)
        assert r.json()["error"]["code"] == "not_found"


# ---------------------------------------------------------------- assigning


async def test_assign_and_unassign(client: httpx.AsyncClient, demo: Demo) -> None:
    _, conv = await customer_writes(client, "Need help")
    agent = await login(client, AGENT)
    url = f"/api/v1/conversations/{conv}/assign"

    r = await client.post(url, json={"assignee_id": demo.users["agent"]}, headers=agent)
    assert r.status_code == 200, r.text
    assert r.json()["assignee"] == {"id": demo.users["agent"], "name": "Anna Agent"}
    assert r.json()["status"] == "assigned"

    r = await client.post(url, json={"assignee_id": None}, headers=agent)
    assert r.status_code == 200, r.text
    assert r.json()["assignee"] is None
    assert r.json()["status"] == "queued"

    # An agent may not hand work to someone else.
    r = await client.post(url, json={"assignee_id": demo.users["agent2"]}, headers=agent)
    assert r.status_code == 403, r.text
    assert r.json()["error"]["code"] == "forbidden"
    assert (await client.get(f"/api/v1/conversations/{conv}", headers=agent)).json()[
        "assignee"
    ] is None

    # A supervisor may.
    sup = await login(client, SUPERVISOR)
    r = await client.post(url, json={"assignee_id": demo.users["agent2"]}, headers=sup)
    assert r.status_code == 200, r.text
    assert r.json()["assignee"] == {"id": demo.users["agent2"], "name": "Boris Agent"}
    agent2 = await login(client, AGENT2)
    assert ids(await listing(client, agent2, assignee_id="me")) == [conv]
    # ... and may not assign to someone of another workspace or no one at all.
    r = await client.post(url, json={"assignee_id": 999999}, headers=sup)
    assert r.status_code == 404, r.text
    assert [f["field"] for f in r.json()["error"]["fields"]] == ["assignee_id"]


# ---------------------------------------------------------------- resolving


async def test_resolve_and_reopen(client: httpx.AsyncClient, demo: Demo) -> None:
    _, conv = await customer_writes(client, "Done, thanks")
    agent = await login(client, AGENT)
    await client.post(
        f"/api/v1/conversations/{conv}/assign",
        json={"assignee_id": demo.users["agent"]},
        headers=agent,
    )
    r = await client.post(f"/api/v1/conversations/{conv}/resolve", headers=agent)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "resolved"
    view = (await client.get(f"/api/v1/conversations/{conv}", headers=agent)).json()
    assert view["resolved_at"] is not None
    assert conv not in ids(await listing(client, agent, status="open"))
    assert conv in ids(await listing(client, agent, status="resolved"))

    again = await client.post(f"/api/v1/conversations/{conv}/resolve", headers=agent)
    assert again.status_code == 409, again.text
    assert again.json()["error"]["code"] == "conflict"

    r = await client.post(f"/api/v1/conversations/{conv}/reopen", headers=agent)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "assigned"  # back with the same agent
    view = (await client.get(f"/api/v1/conversations/{conv}", headers=agent)).json()
    assert view["resolved_at"] is None
    r = await client.post(f"/api/v1/conversations/{conv}/reopen", headers=agent)
    assert r.status_code == 409, r.text


async def test_message_after_resolve_starts_a_new_conversation(
    client: httpx.AsyncClient, demo: Demo
) -> None:
    token, old = await customer_writes(client, "First question")
    agent = await login(client, AGENT)
    await client.post(
        f"/api/v1/conversations/{old}/messages", json={"text": "Answered"}, headers=agent
    )
    assert (
        await client.post(f"/api/v1/conversations/{old}/resolve", headers=agent)
    ).status_code == 200

    _, new = await customer_writes(client, "Another question", token)
    assert new != old
    assert (await client.get(f"/api/v1/conversations/{old}", headers=agent)).json()[
        "status"
    ] == "resolved"
    fresh = (await client.get(f"/api/v1/conversations/{new}", headers=agent)).json()
    assert fresh["status"] == "queued"
    assert fresh["assignee"] is None
    assert (
        fresh["contact"]["id"]
        == (await client.get(f"/api/v1/conversations/{old}", headers=agent)).json()["contact"]["id"]
    )
    new_msgs = (await client.get(f"/api/v1/conversations/{new}/messages", headers=agent)).json()
    assert [m["text"] for m in new_msgs["items"]] == ["Another question"]
    # The visitor still sees the whole story.
    assert [m["text"] for m in await widget_history(client, token)] == [
        "First question",
        "Answered",
        "Another question",
    ]
    # The session answer points at the new open conversation.
    r = await client.post(
        "/api/v1/widget/sessions", json={"inbox_key": demo.inbox_key, "session_token": token}
    )
    assert r.json()["conversation_id"] == new


# ---------------------------------------------------------------- tags and timeline


async def test_tags(client: httpx.AsyncClient, demo: Demo) -> None:
    _, conv = await customer_writes(client, "About my card")
    _, other = await customer_writes(client, "Other")
    agent = await login(client, AGENT)
    url = f"/api/v1/conversations/{conv}/tags"
    r = await client.put(url, json={"tags": ["Card", "loan", " card ", ""]}, headers=agent)
    assert r.status_code == 200, r.text
    assert r.json()["tags"] == ["card", "loan"]
    assert ids(await listing(client, agent, tag="card")) == [conv]
    assert ids(await listing(client, agent, tag="loan")) == [conv]

    r = await client.put(url, json={"tags": ["loan"]}, headers=agent)
    assert r.json()["tags"] == ["loan"]
    assert ids(await listing(client, agent, tag="card")) == []
    assert (await client.get(f"/api/v1/conversations/{conv}", headers=agent)).json()["tags"] == [
        "loan"
    ]
    assert other not in ids(await listing(client, agent, tag="loan"))

    r = await client.put(url, json={"tags": ["x" * 65]}, headers=agent)
    assert r.status_code == 422, r.text
    r = await client.put(url, json={"tags": "loan"}, headers=agent)
    assert r.status_code == 422, r.text
    assert (await client.get(f"/api/v1/conversations/{conv}", headers=agent)).json()["tags"] == [
        "loan"
    ]


async def test_tag_counts_follow_every_status_change(client: httpx.AsyncClient, demo: Demo) -> None:
    """The tabs' counts of a tag stay exact whoever moves the conversation along."""
    sup = await login(client, SUPERVISOR)
    agent = await login(client, AGENT)
    token, conv = await customer_writes(client, "About my loan")
    await customer_writes(client, "Untagged")
    url = f"/api/v1/conversations/{conv}"

    async def loan_counts() -> dict[str, int]:
        counts = dict((await listing(client, sup, tag="loan"))["counts"])
        # The same counts as with another filter beside the tag (counted by a join).
        assert (await listing(client, sup, tag="loan", channel="webchat"))["counts"] == counts
        return {k: v for k, v in counts.items() if v}

    assert (await client.put(f"{url}/tags", json={"tags": ["loan"]}, headers=sup)).is_success
    assert await loan_counts() == {"open": 1, "queued": 1}
    assert (
        await client.post(f"{url}/assign", json={"assignee_id": demo.users["agent"]}, headers=agent)
    ).is_success
    assert await loan_counts() == {"open": 1, "assigned": 1}
    r = await client.post(f"{url}/messages", json={"text": "Checking"}, headers=agent)
    assert r.status_code == 201, r.text
    assert await loan_counts() == {"open": 1, "waiting_customer": 1}
    await customer_writes(client, "Thanks, waiting", token)  # the customer's turn again
    assert await loan_counts() == {"open": 1, "assigned": 1}
    assert (await client.post(f"{url}/resolve", headers=agent)).is_success
    assert await loan_counts() == {"resolved": 1}
    # A tag given to a resolved conversation counts as resolved from the start.
    r = await client.put(f"{url}/tags", json={"tags": ["loan", "card"]}, headers=sup)
    assert r.is_success, r.text
    assert (await listing(client, sup, tag="card"))["counts"]["resolved"] == 1
    assert (await client.post(f"{url}/reopen", headers=agent)).is_success
    assert await loan_counts() == {"open": 1, "assigned": 1}
    r = await client.post(
        f"{url}/transfer", json={"queue_id": demo.queues["Tech support"]}, headers=sup
    )
    assert r.is_success, r.text
    assert await loan_counts() == {"open": 1, "queued": 1}
    assert (await listing(client, sup, tag="card"))["counts"]["queued"] == 1


async def test_events_timeline(client: httpx.AsyncClient, demo: Demo) -> None:
    _, conv = await customer_writes(client, "Hi")
    agent = await login(client, AGENT)
    await client.post(
        f"/api/v1/conversations/{conv}/assign",
        json={"assignee_id": demo.users["agent"]},
        headers=agent,
    )
    await client.post(
        f"/api/v1/conversations/{conv}/messages", json={"text": "Hello"}, headers=agent
    )
    await client.post(f"/api/v1/conversations/{conv}/resolve", headers=agent)

    r = await client.get(f"/api/v1/conversations/{conv}/events", headers=agent)
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert [e["type"] for e in items] == [
        "created",
        "queued",
        "message_in",
        "assigned",
        "message_out",
        "resolved",
    ]
    assert all(e["conversation_id"] == conv for e in items)
    by_type = {e["type"]: e for e in items}
    assert by_type["assigned"]["actor"] == {
        "type": "agent",
        "id": demo.users["agent"],
        "name": "Anna Agent",
    }
    assert by_type["assigned"]["data"]["assignee_id"] == demo.users["agent"]
    assert by_type["queued"]["data"]["queue_id"] == demo.queues["First line"]
    times = [datetime.fromisoformat(e["created_at"]) for e in items]
    assert times == sorted(times)


# ---------------------------------------------------------------- query count (DESIGN.md §9.6)

# GET /api/v1/conversations as an agent, whatever the number of rows:
#   1. the access token with its user,
#   2. the queues the agent may see,
#   3. the page of conversations (joined with queue, inbox, assignee and contact),
#   4. the counts by status.
LIST_QUERIES = 4


@contextmanager
def count_queries() -> Iterator[list[str]]:
    engine = db.get_engine().sync_engine
    statements: list[str] = []

    def on_execute(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", on_execute)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)


async def test_list_query_count_does_not_grow(client: httpx.AsyncClient, demo: Demo) -> None:
    agent = await login(client, AGENT)
    sup = await login(client, SUPERVISOR)

    statements_seen: list[str] = []
    # A session's first request notes its last use (then at most every 5 minutes).
    await listing(client, agent, limit=1)

    async def measure() -> tuple[int, int]:
        with count_queries() as statements:
            page = await listing(client, agent, limit=100)
        statements_seen[:] = [s.split("\n")[0][:120] for s in statements]
        return len(statements), len(page["items"])

    async def make(n: int, tag: str) -> None:
        await bulk_conversations(demo, n, tag=tag)
        rows = (await listing(client, sup, limit=100))["items"]
        # Some are assigned, tagged, or in a queue the agent may not see (locked rows).
        for i, row in enumerate(rows[:n]):
            if i % 3 == 0:
                await set_conversation(
                    row["id"], assignee_id=demo.users["agent2"], status="assigned", tags=["vip"]
                )
            elif i % 3 == 1:
                await set_conversation(row["id"], queue_id=demo.queues["Tech support"])

    await make(5, "a")
    small, small_rows = await measure()
    await make(55, "b")
    large, large_rows = await measure()
    assert (small_rows, large_rows) == (5, 60)
    assert small == large == LIST_QUERIES, statements_seen
