"""Auto-replies reach the customer: which rule, which language, once, and through the widget."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import update

from omniline import db
from omniline.conversations.models import Conversation
from tests.autoreplies.support import (
    admin_headers,
    bot_texts,
    create_rule,
    customer_writes,
    fire,
    widget_messages,
)
from tests.conftest import Demo, bearer, staff_token

SUPERVISOR = ("supervisor@demo.omniline", "demo-supervisor")


async def set_conversation(conv_id: int, **values: object) -> None:
    async with db.unit_of_work() as session:
        await session.execute(update(Conversation).where(Conversation.id == conv_id).values(values))


async def test_greeting_reaches_the_widget_once_with_a_timeline_event(
    client: httpx.AsyncClient, demo: Demo
) -> None:
    h = await admin_headers(client)
    rid = await create_rule(
        client,
        h,
        author_name="MicroLend bot",
        texts=[{"language": "en", "text": "Hello {contact_name}! {inbox_name}, {queue_name}."}],
    )
    token, conv_id = await customer_writes(client)
    await fire("conversation.created", demo, conv_id)
    await fire("conversation.created", demo, conv_id)  # a repeated event sends nothing new

    items = await widget_messages(client, token)
    bots = [m for m in items if m["author"]["type"] == "bot"]
    assert len(bots) == 1
    assert bots[0]["direction"] == "out"
    assert bots[0]["author"]["name"] == "MicroLend bot"
    assert bots[0]["text"].endswith("! Website chat, First line.")

    staff = bearer(await staff_token(client, *SUPERVISOR))
    events = (await client.get(f"/api/v1/conversations/{conv_id}/events", headers=staff)).json()
    replies = [e for e in events["items"] if e["type"] == "auto_reply"]
    assert [(e["data"]["kind"], e["data"]["rule_id"]) for e in replies] == [("greeting", rid)]


SCOPES = ("workspace", "inbox", "queue", "inbox+queue")


@pytest.mark.parametrize(
    ("present", "expected"),
    [
        (("workspace",), "workspace"),
        (("workspace", "inbox"), "inbox"),
        (("workspace", "inbox", "queue"), "queue"),
        (SCOPES, "inbox+queue"),
        (("inbox", "other queue"), "inbox"),
        (("workspace", "other queue"), "workspace"),
        (("other queue",), None),
    ],
)
async def test_most_specific_rule_wins(
    client: httpx.AsyncClient, demo: Demo, present: tuple[str, ...], expected: str | None
) -> None:
    h = await admin_headers(client)
    first, other = demo.queues["First line"], demo.queues["Tech support"]
    scopes = {
        "workspace": {},
        "inbox": {"inbox_id": demo.inbox_id},
        "queue": {"queue_id": first},
        "inbox+queue": {"inbox_id": demo.inbox_id, "queue_id": first},
        "other queue": {"queue_id": other},
    }
    for name in present:
        texts = [{"language": "en", "text": f"from {name}"}]
        await create_rule(client, h, name=name, texts=texts, **scopes[name])
    token, conv_id = await customer_writes(client)
    await fire("conversation.created", demo, conv_id)
    assert await bot_texts(client, token) == ([f"from {expected}"] if expected else [])


async def test_a_disabled_rule_leaves_the_choice_to_the_next_one(
    client: httpx.AsyncClient, demo: Demo
) -> None:
    h = await admin_headers(client)
    await create_rule(client, h, texts=[{"language": "en", "text": "workspace"}])
    await create_rule(
        client,
        h,
        queue_id=demo.queues["First line"],
        enabled=False,
        texts=[{"language": "en", "text": "queue"}],
    )
    token, conv_id = await customer_writes(client)
    await fire("conversation.created", demo, conv_id)
    assert await bot_texts(client, token) == ["workspace"]


TEXTS = [
    {"language": "en", "text": "Hello"},
    {"language": "uk", "text": "Вітаємо"},
    {"language": "ru", "text": "Здравствуйте"},
]


@pytest.mark.parametrize(
    ("widget_locale", "conversation_language", "expected"),
    [
        ("uk", None, "Вітаємо"),  # the contact's language, from the widget locale
        ("uk", "ru", "Здравствуйте"),  # the conversation's language comes first
        (None, None, "Hello"),  # the workspace default (en)
        ("kk", None, "Hello"),  # no text in Kazakh: the rule's fallback language
    ],
)
async def test_language_of_the_reply(
    client: httpx.AsyncClient,
    demo: Demo,
    widget_locale: str | None,
    conversation_language: str | None,
    expected: str,
) -> None:
    h = await admin_headers(client)
    extra = {"locale": widget_locale} if widget_locale else {}
    token, conv_id = await customer_writes(client, **extra)
    if conversation_language:
        await set_conversation(conv_id, language=conversation_language)
    # The rule is created after the conversation, so only this explicit event sends it.
    await create_rule(client, h, texts=TEXTS)
    await fire("conversation.created", demo, conv_id)
    assert await bot_texts(client, token) == [expected]


async def test_closing_once_per_resolve(client: httpx.AsyncClient, demo: Demo) -> None:
    h = await admin_headers(client)
    await create_rule(
        client,
        h,
        kind="closing",
        texts=[{"language": "en", "text": "Thank you, {contact_name}. {agent_name} helped you."}],
    )
    token, conv_id = await customer_writes(client)
    staff = bearer(await staff_token(client, *SUPERVISOR))
    sofia = (await client.get("/api/v1/me", headers=staff)).json()["id"]
    r = await client.post(
        f"/api/v1/conversations/{conv_id}/assign", json={"assignee_id": sofia}, headers=staff
    )
    assert r.status_code == 200, r.text
    # do_resolve emits conversation.resolved: the closing reply comes without any test hook.
    assert (await client.post(f"/api/v1/conversations/{conv_id}/resolve", headers=staff)).is_success
    await fire("conversation.resolved", demo, conv_id)  # the same resolve again: nothing new
    assert len(await bot_texts(client, token)) == 1
    assert (await bot_texts(client, token))[0].endswith("Sofia Supervisor helped you.")

    assert (await client.post(f"/api/v1/conversations/{conv_id}/reopen", headers=staff)).is_success
    assert (await client.post(f"/api/v1/conversations/{conv_id}/resolve", headers=staff)).is_success
    assert len(await bot_texts(client, token)) == 2


async def test_no_closing_for_an_open_conversation(client: httpx.AsyncClient, demo: Demo) -> None:
    h = await admin_headers(client)
    await create_rule(client, h, kind="closing")
    token, conv_id = await customer_writes(client)
    await fire("conversation.resolved", demo, conv_id)
    assert await bot_texts(client, token) == []


async def test_broken_stored_text_never_fails_the_event(
    client: httpx.AsyncClient, demo: Demo
) -> None:
    """A text edited by hand in the database with a bad variable still sends, without it."""
    from omniline.autoreplies.models import AutoReplyText

    h = await admin_headers(client)
    rid = await create_rule(client, h, texts=[{"language": "en", "text": "Hi"}])
    async with db.unit_of_work() as session:
        await session.execute(
            update(AutoReplyText)
            .where(AutoReplyText.rule_id == rid)
            .values(text="Hi {nobody} {agent_name} {{")
        )
    token, conv_id = await customer_writes(client)
    await fire("conversation.created", demo, conv_id)
    assert await bot_texts(client, token) == ["Hi   {"]
