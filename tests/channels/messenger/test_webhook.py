"""Messenger webhook in: verification, signature, bad input, repeats, text, buttons, media."""

from __future__ import annotations

import httpx
import orjson

from tests.channels.messenger import helpers as h
from tests.channels.messenger.fake_graph import FakeGraph
from tests.channels.vk.helpers import attachments_of, conversation, message, messages, run_jobs
from tests.conftest import Demo


async def test_verification_echoes_the_challenge_only_for_the_right_token(
    demo: Demo, client: httpx.AsyncClient
) -> None:
    _, key = await h.make_inbox(demo, None)
    url = f"/channels/messenger/{key}/webhook"
    params = {"hub.mode": "subscribe", "hub.verify_token": h.VERIFY, "hub.challenge": "1158201444"}
    ok = await client.get(url, params=params)
    assert (ok.status_code, ok.text) == (200, "1158201444")
    wrong = await client.get(url, params={**params, "hub.verify_token": "guess"})
    not_subscribe = await client.get(url, params={**params, "hub.mode": "unsubscribe"})
    assert [wrong.status_code, not_subscribe.status_code] == [403, 403]
    assert (await client.get("/channels/messenger/nope/webhook", params=params)).status_code == 404


async def test_unsigned_or_badly_signed_events_store_nothing(
    demo: Demo, client: httpx.AsyncClient
) -> None:
    inbox_id, key = await h.make_inbox(demo, None)
    body = h.page(h.text("m_1"))
    missing = await h.post(client, key, body, sign=None)
    wrong = await h.post(client, key, body, sign="ffffffffffffffffffffffffffffffff")
    assert (missing.status_code, wrong.status_code) == (401, 403)
    assert missing.json()["error"]["code"] == "unauthorized"
    assert await messages(inbox_id) == []


async def test_bad_input_is_refused_and_other_objects_ignored(
    demo: Demo, client: httpx.AsyncClient
) -> None:
    inbox_id, key = await h.make_inbox(demo, None)
    not_json = await h.post(client, key, b"{not json")
    no_entries = await h.post(client, key, {"object": "page", "entry": "x"})
    no_mid = await h.post(client, key, h.page(h.text("")))
    no_sender = await h.post(client, key, h.page({"message": {"mid": "m_9", "text": "x"}}))
    assert [r.status_code for r in (not_json, no_entries, no_mid, no_sender)] == [400] * 4
    instagram = await h.post(client, key, {"object": "instagram", "entry": []})
    assert instagram.status_code == 200
    assert await messages(inbox_id) == []


async def test_messages_are_stored_once_and_echoes_skipped(
    demo: Demo, client: httpx.AsyncClient
) -> None:
    inbox_id, key = await h.make_inbox(demo, None)
    body = h.page(
        h.text("m_1", "Здравствуйте"),
        h.text("m_2", "Хочу продлить заём"),
        h.text("m_echo", "From the page", is_echo=True),
    )
    assert (await h.post(client, key, body)).status_code == 200
    assert (await h.post(client, key, body)).status_code == 200  # Meta redelivers
    stored = await messages(inbox_id)
    assert [(m.external_id, m.text) for m in stored] == [
        ("m_1", "Здравствуйте"),
        ("m_2", "Хочу продлить заём"),
    ]
    assert stored[0].conversation_id == stored[1].conversation_id
    conv = await conversation(stored[0].conversation_id)
    assert conv.contact_address == h.PSID and conv.channel == "messenger"


async def test_quick_replies_and_postbacks_keep_their_payload(
    demo: Demo, client: httpx.AsyncClient
) -> None:
    inbox_id, key = await h.make_inbox(demo, None)
    quick = h.text("m_q", "Продлить", quick_reply={"payload": "EXTEND"})
    postback = {
        "sender": {"id": h.PSID},
        "recipient": {"id": "1"},
        "timestamp": 1700000000001,
        "postback": {"title": "Оператор", "payload": "AGENT", "mid": "m_pb"},
    }
    assert (await h.post(client, key, h.page(quick, postback))).status_code == 200
    first, second = await messages(inbox_id)
    assert (first.text, first.meta["button_payload"]) == ("Продлить", "EXTEND")
    assert (second.text, second.meta["button_payload"]) == ("Оператор", "AGENT")


async def test_images_are_fetched_after_the_message(
    demo: Demo, client: httpx.AsyncClient, fake_graph: FakeGraph
) -> None:
    inbox_id, key = await h.make_inbox(demo, fake_graph)
    attachments = [
        {"type": "image", "payload": {"url": f"{fake_graph.base}/files/lookaside?to=photo.png"}},
        {"type": "location", "payload": {"coordinates": {"lat": 55.7, "long": 37.6}}},
    ]
    body = h.page(h.text("m_img", "", attachments=attachments))
    assert (await h.post(client, key, body)).status_code == 200
    (msg,) = await messages(inbox_id)
    assert msg.meta["media_pending"] == 1
    assert msg.meta["messenger"] == {"unsupported": ["location"]}
    await run_jobs()
    (att,) = await attachments_of(msg.id)
    assert (att.filename, att.content_type) == ("photo.png", "image/png")
    assert "media_pending" not in (await message(msg.id)).meta


async def test_delivery_and_read_reports_move_the_reply_forward(
    demo: Demo, client: httpx.AsyncClient, fake_graph: FakeGraph
) -> None:
    inbox_id, key = await h.make_inbox(demo, fake_graph)
    assert (await h.post(client, key, h.page(h.text("m_in")))).status_code == 200
    (msg,) = await messages(inbox_id)
    first = await h.reply(demo, msg.conversation_id, "Первый ответ")
    second = await h.reply(demo, msg.conversation_id, "Второй ответ")
    await run_jobs()
    out1, out2 = await message(first), await message(second)
    assert (out1.external_id, out2.external_id) == ("m_out1", "m_out2")
    delivered = h.report("delivery", mids=["m_out1"], watermark=1)
    assert (await h.post(client, key, h.page(delivered))).status_code == 200
    assert (await message(first)).delivery_status == "delivered"
    assert (await message(second)).delivery_status == "sent"
    early = h.report("read", watermark=int(out1.created_at.timestamp() * 1000) - 60_000)
    await h.post(client, key, h.page(early))
    assert (await message(first)).delivery_status == "delivered"
    now_ms = int(out2.created_at.timestamp() * 1000) + 1000
    assert (
        await h.post(client, key, h.page(h.report("read", watermark=now_ms)))
    ).status_code == 200
    assert [(await message(i)).delivery_status for i in (first, second)] == ["read", "read"]
    late = orjson.dumps(h.page(delivered))
    assert (await h.post(client, key, late)).status_code == 200
    assert (await message(first)).delivery_status == "read"


ODD_BODIES = [
    [],
    {"object": "page"},
    {"object": "page", "entry": [None]},
    {"object": "page", "entry": [{"messaging": [None]}]},
    {"object": "page", "entry": [{"messaging": [{"sender": {"id": {}}, "message": {}}]}]},
    h.page(h.text("m_x", body=123)),
    h.page({**h.text("m_y"), "message": {"mid": "m_y", "attachments": "x"}}),
    h.page(h.report("delivery", mids="m_1", watermark="soon")),
    h.page(h.report("read", watermark=None)),
    h.page({"sender": {"id": h.PSID}, "postback": {"title": 5, "payload": []}}),
]


async def test_odd_bodies_never_cause_a_server_error(demo: Demo, client: httpx.AsyncClient) -> None:
    _, key = await h.make_inbox(demo, None)
    codes = [(await h.post(client, key, body)).status_code for body in ODD_BODIES]
    assert all(200 <= c < 500 for c in codes), codes
    standby = {"object": "page", "entry": [{"id": "1", "standby": [{"sender": {"id": "1"}}]}]}
    assert (await h.post(client, key, standby)).status_code == 200
