"""An agent's reply is stored once however often it is retried: the Idempotency-Key header
(or field) names one reply of one agent; a retry gets the first message back, a key sent with
another request is refused, and concurrent retries store one message and one delivery."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from omniline import db
from omniline.auth.principal import Principal
from omniline.conversations import reply_keys, service
from omniline.conversations.models import (
    Attachment,
    ConversationEvent,
    Message,
    ReplyKey,
)
from omniline.errors import Conflict
from omniline.jobs.models import Job
from tests.conftest import Demo, bearer, staff_token
from tests.contacts.people import make_inbox, writes

AGENT = ("agent@demo.omniline", "demo-agent")
ADMIN = ("admin@demo.omniline", "demo-admin")


async def _conversation(demo: Demo, address: str = "chat-1") -> int:
    inbox_id = await make_inbox(demo, "telegram")
    return (await writes(demo, inbox_id, address, name="Ivan")).conversation_id


async def _stored(conv_id: int) -> dict[str, Any]:
    """What the replies of a conversation left behind: outbound messages, their timeline
    events and delivery jobs, and the keys."""
    async with db.sessionmaker()() as session:
        out = list(
            await session.scalars(
                select(Message.id)
                .where(Message.conversation_id == conv_id, Message.direction == "out")
                .order_by(Message.id)
            )
        )
        events = await session.scalar(
            select(func.count())
            .select_from(ConversationEvent)
            .where(
                ConversationEvent.conversation_id == conv_id,
                ConversationEvent.type.in_(["message_out", "note"]),
            )
        )
        jobs = [
            j.payload["message_id"]
            for j in await session.scalars(select(Job).where(Job.kind == "deliver_message"))
        ]
        keys = list(await session.scalars(select(ReplyKey.message_id).order_by(ReplyKey.id)))
    return {"messages": out, "events": events, "jobs": sorted(jobs), "keys": keys}


async def test_a_retried_reply_is_stored_once(client: httpx.AsyncClient, demo: Demo) -> None:
    conv_id = await _conversation(demo)
    agent = bearer(await staff_token(client, *AGENT))
    url = f"/api/v1/conversations/{conv_id}/messages"
    first = await client.post(
        url, json={"text": "Your card is on its way"}, headers={**agent, "Idempotency-Key": "k-1"}
    )
    assert first.status_code == 201, first.text
    # The commit landed but the answer was lost: the client sends the same reply again.
    again = await client.post(
        url, json={"text": "Your card is on its way"}, headers={**agent, "Idempotency-Key": "k-1"}
    )
    assert again.status_code == 200, again.text
    assert again.json() == first.json()
    msg_id = first.json()["id"]
    assert await _stored(conv_id) == {
        "messages": [msg_id],
        "events": 1,
        "jobs": [msg_id],
        "keys": [msg_id],
    }
    # A note, with the key in the body this time, is kept once too.
    note = {"text": "Called the bank", "private": True, "idempotency_key": "k-2"}
    one = await client.post(url, json=note, headers=agent)
    two = await client.post(url, json=note, headers=agent)
    assert (one.status_code, two.status_code) == (201, 200)
    assert one.json()["id"] == two.json()["id"] and one.json()["private"] is True
    stored = await _stored(conv_id)
    assert stored["messages"] == [msg_id, one.json()["id"]] and stored["events"] == 2
    assert stored["jobs"] == [msg_id]  # a note is not delivered
    # Without a key every request is a new reply, as before.
    for _ in range(2):
        r = await client.post(url, json={"text": "Anything else?"}, headers=agent)
        assert r.status_code == 201
    assert len((await _stored(conv_id))["messages"]) == 4


async def test_a_key_names_one_reply_of_one_agent(client: httpx.AsyncClient, demo: Demo) -> None:
    conv_id = await _conversation(demo)
    other_conv = await _conversation(demo, "chat-2")
    agent = bearer(await staff_token(client, *AGENT))
    url = f"/api/v1/conversations/{conv_id}/messages"
    key = {**agent, "Idempotency-Key": "reply-7"}
    first = await client.post(url, json={"text": "Hello"}, headers=key)
    assert first.status_code == 201
    for other_url, body in [
        (url, {"text": "Hello!"}),  # another text
        (url, {"text": "Hello", "private": True}),  # a note, not a reply
        (f"/api/v1/conversations/{other_conv}/messages", {"text": "Hello"}),
    ]:
        r = await client.post(other_url, json=body, headers=key)
        assert r.status_code == 409, r.text
        assert r.json()["error"]["fields"] == [
            {"field": "idempotency_key", "message": reply_keys.REUSED}
        ]
    assert (await _stored(conv_id))["messages"] == [first.json()["id"]]
    assert (await _stored(other_conv))["messages"] == []
    # Keys are the agent's own: a colleague's same key is another reply.
    colleague = bearer(await staff_token(client, *ADMIN))
    r = await client.post(
        url, json={"text": "Hello"}, headers={**colleague, "Idempotency-Key": "reply-7"}
    )
    assert r.status_code == 201, r.text
    assert r.json()["id"] != first.json()["id"]


async def test_a_replayed_reply_is_returned_though_the_state_changed(
    client: httpx.AsyncClient, demo: Demo
) -> None:
    """The first attempt resolved nothing, but the conversation was closed before the retry
    came: the retry still gets its message, not "the conversation is closed"."""
    conv_id = await _conversation(demo)
    agent = {**bearer(await staff_token(client, *AGENT)), "Idempotency-Key": "late"}
    url = f"/api/v1/conversations/{conv_id}/messages"
    first = await client.post(url, json={"text": "Done"}, headers=agent)
    async with db.unit_of_work() as session:
        conv = await service.get_visible(session, _admin(demo), conv_id)
        conv.status = "closed"
    again = await client.post(url, json={"text": "Done"}, headers=agent)
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    new = await client.post(url, json={"text": "Done"}, headers={**agent, "Idempotency-Key": "n"})
    assert new.status_code == 409 and "closed" in new.text


async def test_concurrent_retries_store_one_reply(client: httpx.AsyncClient, demo: Demo) -> None:
    conv_id = await _conversation(demo)
    agent = {**bearer(await staff_token(client, *AGENT)), "Idempotency-Key": "burst"}
    url = f"/api/v1/conversations/{conv_id}/messages"
    answers = await asyncio.gather(
        *(client.post(url, json={"text": "On its way"}, headers=agent) for _ in range(5))
    )
    assert sorted(r.status_code for r in answers) == [200, 200, 200, 200, 201]
    (msg_id,) = {r.json()["id"] for r in answers}
    assert await _stored(conv_id) == {
        "messages": [msg_id],
        "events": 1,
        "jobs": [msg_id],
        "keys": [msg_id],
    }


def _admin(demo: Demo) -> Principal:
    return Principal(demo.users["admin"], demo.workspace_id, "admin", "Alex", "a@x", "en", None)


async def test_a_retry_that_crosses_the_first_attempt_gets_its_message(
    demo: Demo, backend: str
) -> None:
    """The second attempt looks for the key before the first commits, finds nothing, and
    then meets the key at its insert (PostgreSQL makes it wait for the first transaction;
    SQLite for the write lock): it returns the first message and stores nothing."""
    conv_id = await _conversation(demo)
    p = _admin(demo)
    asked = reply_keys.Idempotency("cross", reply_keys.fingerprint(conv_id, "Paid", private=False))
    first_stored, let_first_commit = asyncio.Event(), asyncio.Event()

    async def first() -> int:
        async with db.unit_of_work() as session:
            res = await service.do_reply(session, p, conv_id, "Paid", idempotency=asked)
            first_stored.set()
            await let_first_commit.wait()
            return res.message.id

    async def second() -> tuple[int, bool]:
        await first_stored.wait()
        async with db.unit_of_work() as session:
            res = await service.do_reply(session, p, conv_id, "Paid", idempotency=asked)
            return res.message.id, res.duplicate

    one = asyncio.create_task(first())
    two = asyncio.create_task(second())
    await first_stored.wait()
    await asyncio.sleep(0.5)  # the second is waiting at the key's insert
    assert not two.done()
    let_first_commit.set()
    first_id = await one
    assert await asyncio.wait_for(two, 20) == (first_id, True)
    stored = await _stored(conv_id)
    assert stored["messages"] == [first_id] and stored["jobs"] == [first_id]


async def test_a_reply_rolled_back_leaves_its_key_free(demo: Demo) -> None:
    """The key is written in the reply's transaction: when that fails after the key was
    taken, the retry stores the reply (on SQLite the key's savepoint used to commit at once,
    alone, so the retry was refused and the reply lost)."""
    conv_id = await _conversation(demo)
    p = _admin(demo)
    asked = reply_keys.Idempotency("k", reply_keys.fingerprint(conv_id, "Hi", private=False))
    with pytest.raises(RuntimeError):
        async with db.unit_of_work() as session:
            await service.do_reply(session, p, conv_id, "Hi", idempotency=asked)
            raise RuntimeError("the process died before the commit")
    assert await _stored(conv_id) == {"messages": [], "events": 0, "jobs": [], "keys": []}
    async with db.unit_of_work() as session:
        res = await service.do_reply(session, p, conv_id, "Hi", idempotency=asked)
    assert not res.duplicate
    assert (await _stored(conv_id))["messages"] == [res.message.id]
    async with db.unit_of_work() as session:
        with pytest.raises(Conflict):
            other = reply_keys.Idempotency("k", "another request")
            await service.do_reply(session, p, conv_id, "Hi", idempotency=other)


async def test_a_retried_upload_is_stored_once(
    client: httpx.AsyncClient, demo: Demo, settings: Any
) -> None:
    conv_id = await _conversation(demo)
    agent = bearer(await staff_token(client, *AGENT))
    url = f"/api/v1/conversations/{conv_id}/attachments"

    async def upload(key: str, content: bytes = b"%PDF-1.4 statement") -> httpx.Response:
        return await client.post(
            url,
            files={"file": ("statement.pdf", content, "application/pdf")},
            data={"text": "Your statement"},
            headers={**agent, "Idempotency-Key": key},
        )

    first = await upload("u-1")
    assert first.status_code == 201, first.text
    again = await upload("u-1")
    assert again.status_code == 200 and again.json() == first.json()
    crossing = await asyncio.gather(upload("u-2"), upload("u-2"))
    assert sorted(r.status_code for r in crossing) == [200, 201]
    assert crossing[0].json()["id"] == crossing[1].json()["id"]
    assert (await upload("u-1", b"%PDF-1.4 another")).status_code == 409
    # As in a JSON body, a key given is 1-200 characters (an empty one was taken for none).
    for bad in ("", "k" * 201):
        r = await client.post(
            url,
            files={"file": ("statement.pdf", b"%PDF-1.4 x", "application/pdf")},
            data={"idempotency_key": bad},
            headers=agent,
        )
        assert r.status_code == 422, r.text
        assert r.json()["error"]["fields"][0]["field"] == "idempotency_key"
    async with db.sessionmaker()() as session:
        files = list(await session.scalars(select(Attachment.storage_key)))
    assert len(files) == 2 and len((await _stored(conv_id))["messages"]) == 2
    on_disk = [f for f in settings.uploads_dir.rglob("*") if f.is_file()]
    assert sorted(str(f.relative_to(settings.uploads_dir)) for f in on_disk) == sorted(files)


@pytest.mark.parametrize(
    ("flag", "status", "private"),
    [("on", 201, True), ("no", 201, False), ("True", 422, None), ("", 422, None)],
)
async def test_an_uploads_private_flag_is_one_the_schema_lists(
    client: httpx.AsyncClient, demo: Demo, flag: str, status: int, private: bool | None
) -> None:
    """A flag such as "maybe" or "True" was read as false, though the schema lists the
    values (ST201)."""
    conv_id = await _conversation(demo)
    r = await client.post(
        f"/api/v1/conversations/{conv_id}/attachments",
        files={"file": ("a.pdf", b"%PDF-1.4 a", "application/pdf")},
        data={"private": flag},
        headers=bearer(await staff_token(client, *AGENT)),
    )
    assert r.status_code == status, r.text
    if private is None:
        assert r.json()["error"]["fields"][0]["field"] == "private"
    else:
        assert r.json()["private"] is private
