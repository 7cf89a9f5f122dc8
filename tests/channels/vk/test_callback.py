"""VK Callback API in: confirmation, the secret, bad input, repeats, text, buttons, media."""

from __future__ import annotations

import httpx

from tests.channels.vk import helpers as h
from tests.channels.vk.fake_vk import FakeVk
from tests.conftest import Demo


async def test_confirmation_answers_the_code_as_plain_text(
    demo: Demo, client: httpx.AsyncClient
) -> None:
    _, key = await h.make_inbox(demo, None)
    body = {"type": "confirmation", "group_id": h.GROUP_ID}
    r = await h.post(client, key, body)
    assert r.status_code == 200
    assert r.text == h.CODE
    assert r.headers["content-type"].startswith("text/plain")
    other = await h.post(client, key, {**body, "group_id": 1})
    assert other.status_code == 403
    wrong = await h.post(client, key, {**body, "secret": "nope"})
    assert wrong.status_code == 403


async def test_a_message_is_stored_once_and_answered_ok(
    demo: Demo, client: httpx.AsyncClient
) -> None:
    inbox_id, key = await h.make_inbox(demo, None)
    body = h.event(text="Когда платёж?")
    first = await h.post(client, key, body)
    again = await h.post(client, key, body)  # VK repeats an event it got no "ok" for
    assert (first.status_code, first.text) == (200, "ok")
    assert (again.status_code, again.text) == (200, "ok")
    (msg,) = await h.messages(inbox_id)
    assert msg.text == "Когда платёж?"
    assert msg.external_id == f"{h.PEER}:7"
    conv = await h.conversation(msg.conversation_id)
    assert conv.contact_address == str(h.PEER) and conv.channel == "vk"


async def test_wrong_or_missing_secret_stores_nothing(
    demo: Demo, client: httpx.AsyncClient
) -> None:
    inbox_id, key = await h.make_inbox(demo, None)
    wrong = await h.post(client, key, {**h.event(), "secret": "guess"})
    body = h.event()
    del body["secret"]
    missing = await h.post(client, key, body)
    other_group = await h.post(client, key, {**h.event(), "group_id": 42})
    assert [wrong.status_code, missing.status_code, other_group.status_code] == [403] * 3
    assert wrong.json()["error"]["code"] == "forbidden"
    assert await h.messages(inbox_id) == []


async def test_bad_input_is_refused_and_unknown_events_ignored(
    demo: Demo, client: httpx.AsyncClient
) -> None:
    inbox_id, key = await h.make_inbox(demo, None)
    url = f"/channels/vk/{key}/callback"
    not_json = await client.post(
        url, content=b"{oops", headers={"content-type": "application/json"}
    )
    no_type = await h.post(client, key, {"group_id": h.GROUP_ID, "secret": h.SECRET})
    no_peer = await h.post(client, key, h.event(peer_id="x"))
    no_object = await h.post(client, key, {**h.event(), "object": None})
    assert [not_json.status_code, no_type.status_code] == [400, 400]
    assert [no_peer.status_code, no_object.status_code] == [400, 400]
    assert "error" in no_peer.json()
    typing = await h.post(client, key, {**h.event("message_typing_state"), "object": {}})
    assert (typing.status_code, typing.text) == (200, "ok")
    unknown = await client.post("/channels/vk/no-such-inbox/callback", json=h.event())
    assert unknown.status_code == 404
    assert await h.messages(inbox_id) == []


async def test_a_keyboard_button_press_keeps_its_payload(
    demo: Demo, client: httpx.AsyncClient
) -> None:
    inbox_id, key = await h.make_inbox(demo, None)
    ours = h.event(text="Продлить заём", payload='{"payload":"extend"}', id=11)
    start = h.event(text="Начать", payload='{"command":"start"}', id=12, conversation_message_id=8)
    assert (await h.post(client, key, ours)).status_code == 200
    assert (await h.post(client, key, start)).status_code == 200
    first, second = await h.messages(inbox_id)
    assert first.meta["button_payload"] == "extend"
    assert second.meta["button_payload"] == '{"command":"start"}'


async def test_photos_and_documents_are_fetched_after_the_message(
    demo: Demo, client: httpx.AsyncClient, fake_vk: FakeVk
) -> None:
    inbox_id, key = await h.make_inbox(demo, fake_vk)
    photo = {
        "id": 457239017,
        "owner_id": h.PEER,
        "sizes": [
            {"type": "s", "url": f"{fake_vk.base}/files/small.jpg", "width": 75, "height": 56},
            {"type": "w", "url": f"{fake_vk.base}/files/photo.jpg", "width": 1280, "height": 960},
            {"type": "m", "url": f"{fake_vk.base}/files/medium.jpg", "width": 130, "height": 97},
        ],
    }
    fake_vk.files["statement.pdf"] = b"%PDF-1.4 statement"
    doc = {
        "id": 1,
        "owner_id": h.PEER,
        "title": "statement",
        "ext": "pdf",
        "size": 18,
        "url": f"{fake_vk.base}/files/statement.pdf",
    }
    attachments = [
        {"type": "photo", "photo": photo},
        {"type": "doc", "doc": doc},
        {"type": "sticker", "sticker": {"sticker_id": 9}},
    ]
    r = await h.post(client, key, h.event(text="Вот выписка", attachments=attachments))
    assert r.status_code == 200
    (msg,) = await h.messages(inbox_id)
    assert msg.meta["media_pending"] == 2
    assert msg.meta["vk"] == {"unsupported": ["sticker"]}
    await h.run_jobs()
    stored = await h.attachments_of(msg.id)
    assert sorted(a.filename for a in stored) == [
        f"photo_{h.PEER}_457239017.jpg",
        "statement.pdf",
    ]
    assert {a.size for a in stored} == {len(fake_vk.files["photo.jpg"]), 18}
    assert "media_pending" not in (await h.message(msg.id)).meta


async def test_a_file_over_the_limit_is_refused_with_a_word_to_the_customer(
    demo: Demo, client: httpx.AsyncClient, fake_vk: FakeVk
) -> None:
    inbox_id, key = await h.make_inbox(demo, fake_vk)
    fake_vk.files["big.pdf"] = b"%PDF" + b"0" * (1024 * 1024 + 10)
    doc = {"id": 2, "owner_id": h.PEER, "title": "big.pdf", "ext": "pdf", "url": ""}
    doc["url"] = f"{fake_vk.base}/files/big.pdf"
    r = await h.post(client, key, h.event(text="", attachments=[{"type": "doc", "doc": doc}]))
    assert r.status_code == 200
    await h.run_jobs()
    msgs = await h.messages(inbox_id)
    assert await h.attachments_of(msgs[0].id) == []
    assert (await h.message(msgs[0].id)).meta["media_failed"][0]["filename"] == "big.pdf"
    await h.run_jobs()  # the refusal goes out to the customer through VK
    assert any("big.pdf" in text for text in fake_vk.sent_texts())


ODD_EVENTS = [
    [],
    {"type": 5},
    {"type": "message_new", "group_id": h.GROUP_ID, "secret": h.SECRET},
    {**h.event(), "object": {"message": []}},
    h.event(peer_id=True),
    h.event(conversation_message_id="x", id=None),
    h.event(text={"a": 1}),
    h.event(attachments=[None, 5, {"type": "photo", "photo": {"sizes": [{"url": 1}]}}]),
    h.event(attachments=[{"type": "doc", "doc": {"url": 7}}, {"type": None}]),
    h.event(payload=12),
]


async def test_odd_events_never_cause_a_server_error(demo: Demo, client: httpx.AsyncClient) -> None:
    _, key = await h.make_inbox(demo, None)
    codes = [(await h.post(client, key, body)).status_code for body in ODD_EVENTS]
    assert all(200 <= c < 500 for c in codes), codes
    huge = await client.post(
        f"/channels/vk/{key}/callback",
        content=b" " * (1024 * 1024 + 1),
        headers={"content-type": "application/json"},
    )
    assert huge.status_code == 413
