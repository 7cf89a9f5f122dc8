"""Canned responses: personal and shared scopes, search, rendering, who may manage them."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import update

from omniline import db
from omniline.contacts.models import Contact
from omniline.conversations.models import Conversation
from tests.conftest import Demo
from tests.webhooks.helpers import AGENT, customer_writes, login

AGENT2 = ("agent2@demo.omniline", "demo-agent")
SUPERVISOR = ("supervisor@demo.omniline", "demo-supervisor")


async def create(
    client: httpx.AsyncClient, headers: dict[str, str], expect: int = 201, **body: Any
) -> dict[str, Any]:
    r = await client.post("/api/v1/canned", json=body, headers=headers)
    assert r.status_code == expect, r.text
    return dict(r.json())


async def shortcuts(client: httpx.AsyncClient, headers: dict[str, str], q: str = "") -> list[str]:
    r = await client.get("/api/v1/canned", params={"q": q}, headers=headers)
    assert r.status_code == 200, r.text
    return [("*" if i["shared"] else "") + i["shortcut"] for i in r.json()["items"]]


async def test_personal_responses_are_private_and_shared_ones_are_for_all(
    client: httpx.AsyncClient, demo: Demo
) -> None:
    agent, agent2, sup = [await login(client, w) for w in (AGENT, AGENT2, SUPERVISOR)]
    await create(client, agent, shortcut="greet", title="My hello", text="Hi, {contact_name}!")
    await create(client, sup, shortcut="greet", title="Team hello", text="Hello!", shared=True)
    await create(client, sup, shortcut="bye", title="Goodbye", text="Bye", shared=True)

    assert await shortcuts(client, agent) == ["greet", "*bye", "*greet"]
    assert await shortcuts(client, agent2) == ["*bye", "*greet"]
    # An agent may not make a shared one; the same shortcut twice in one scope is refused.
    r = await client.post(
        "/api/v1/canned",
        json={"shortcut": "x", "title": "x", "text": "x", "shared": True},
        headers=agent,
    )
    assert r.status_code == 403
    r = await client.post(
        "/api/v1/canned", json={"shortcut": "/Greet", "title": "t", "text": "t"}, headers=agent
    )
    assert r.status_code == 409, r.text  # taken: the same request succeeds after a rename
    assert r.json()["error"]["code"] == "conflict"
    assert r.json()["error"]["fields"][0]["field"] == "shortcut"


async def test_search_by_shortcut_prefix_title_and_letters_in_order(
    client: httpx.AsyncClient, demo: Demo
) -> None:
    agent = await login(client, AGENT)
    admin = await login(client)
    await create(client, admin, shortcut="greet", title="Greeting", text="Hello", shared=True)
    await create(client, admin, shortcut="green-card", title="Green card", text="G", shared=True)
    await create(client, admin, shortcut="limit", title="Credit limit raise", text="L", shared=True)
    await create(client, agent, shortcut="greet2", title="Evening greeting", text="Good evening")

    assert await shortcuts(client, agent, "gre") == ["greet2", "*green-card", "*greet"]
    assert await shortcuts(client, agent, "/gree") == ["greet2", "*green-card", "*greet"]
    assert await shortcuts(client, agent, "credit") == ["*limit"]  # a word of the title
    assert await shortcuts(client, agent, "grt") == ["greet2", "*greet"]  # letters in order
    assert await shortcuts(client, agent, "zzz") == []
    r = await client.get("/api/v1/canned", params={"q": "x" * 101}, headers=agent)
    assert r.status_code == 422


async def test_rendering_fills_variables_and_picks_the_language(
    client: httpx.AsyncClient, demo: Demo
) -> None:
    admin = await login(client)
    agent = await login(client, AGENT)
    c = await create(
        client,
        admin,
        shared=True,
        shortcut="greet",
        title="Greeting",
        text="Hello {contact_name}, I am {agent_name} from {queue_name}.",
        translations={"uk": "Вітаю, {contact_name}! Я {agent_name}, {queue_name}."},
    )
    conv_id = await customer_writes(client)
    async with db.unit_of_work() as session:
        conv = await session.get(Conversation, conv_id)
        assert conv is not None
        await session.execute(
            update(Contact).where(Contact.id == conv.contact_id).values(name="Olha {agent_name}")
        )
    url = f"/api/v1/conversations/{conv_id}/canned/{c['id']}/render"
    r = await client.get(url, headers=agent)
    assert r.status_code == 200, r.text
    # A brace in the customer's name stays text: the name is not a template.
    assert r.json()["text"] == "Hello Olha {agent_name}, I am Anna Agent from First line."

    async with db.unit_of_work() as session:
        await session.execute(
            update(Conversation).where(Conversation.id == conv_id).values(language="uk")
        )
    r = await client.get(url, headers=agent)
    assert r.json() == {
        "text": "Вітаю, Olha {agent_name}! Я Anna Agent, First line.",
        "language": "uk",
    }
    r = await client.get(url, params={"language": "ru"}, headers=agent)
    assert r.json()["text"].startswith("Hello")  # no Russian version: the main text
    assert (await client.get(url, params={"language": "1<"}, headers=agent)).status_code == 422


async def test_render_respects_conversation_access_and_scope(
    client: httpx.AsyncClient, demo: Demo
) -> None:
    agent, agent2 = await login(client, AGENT), await login(client, AGENT2)
    mine = await create(client, agent, shortcut="mine", title="Mine", text="x")
    conv_id = await customer_writes(client)
    r = await client.get(
        f"/api/v1/conversations/{conv_id}/canned/{mine['id']}/render", headers=agent2
    )
    assert r.status_code == 404  # someone else's personal response
    async with db.unit_of_work() as session:
        await session.execute(
            update(Conversation)
            .where(Conversation.id == conv_id)
            .values(queue_id=demo.queues["Tech support"])
        )
    r = await client.get(
        f"/api/v1/conversations/{conv_id}/canned/{mine['id']}/render", headers=agent
    )
    assert r.status_code == 404  # a queue the agent cannot see


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"shortcut": "", "title": "t", "text": "x"}, "shortcut"),
        ({"shortcut": "two words", "title": "t", "text": "x"}, "shortcut"),
        ({"shortcut": "ok", "title": " ", "text": "x"}, "title"),
        ({"shortcut": "ok", "title": "t", "text": "  "}, "text"),
        ({"shortcut": "ok", "title": "t", "text": "Dear {client_name}"}, "text"),
        (
            {"shortcut": "ok", "title": "t", "text": "x", "translations": {"ukrainian": "x"}},
            "translations",
        ),
        (
            {"shortcut": "ok", "title": "t", "text": "x", "translations": {"uk": "{oops}"}},
            "translations",
        ),
    ],
)
async def test_bad_responses_are_refused_naming_the_field(
    client: httpx.AsyncClient, demo: Demo, body: dict[str, Any], field: str
) -> None:
    agent = await login(client, AGENT)
    r = await client.post("/api/v1/canned", json=body, headers=agent)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["fields"][0]["field"] == field
    assert await shortcuts(client, agent) == []


async def test_who_may_change_what(client: httpx.AsyncClient, demo: Demo) -> None:
    agent, agent2, sup = [await login(client, w) for w in (AGENT, AGENT2, SUPERVISOR)]
    shared = await create(client, sup, shortcut="team", title="Team", text="T", shared=True)
    mine = await create(client, agent, shortcut="mine", title="Mine", text="M")

    r = await client.patch(f"/api/v1/canned/{shared['id']}", json={"text": "X"}, headers=agent)
    assert r.status_code == 403
    assert (await client.delete(f"/api/v1/canned/{shared['id']}", headers=agent)).status_code == 403
    r = await client.patch(f"/api/v1/canned/{mine['id']}", json={"text": "X"}, headers=agent2)
    assert r.status_code == 404
    r = await client.patch(
        f"/api/v1/canned/{mine['id']}", json={"text": "Mine, {agent_name}"}, headers=agent
    )
    assert r.status_code == 200 and r.json()["text"] == "Mine, {agent_name}"
    r = await client.patch(f"/api/v1/canned/{shared['id']}", json={"title": "Team v2"}, headers=sup)
    assert r.status_code == 200
    assert (await client.delete(f"/api/v1/canned/{mine['id']}", headers=agent)).status_code == 204
    assert await shortcuts(client, agent) == ["*team"]
