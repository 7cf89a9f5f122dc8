"""Meta's webhook: the verification challenge, signatures, and what customers send."""

from __future__ import annotations

import httpx

from omniline.contacts.models import Contact
from omniline.db import sessionmaker
from tests.channels.whatsapp.fake_graph import FakeGraph
from tests.channels.whatsapp.helpers import (
    CUSTOMER,
    PNG,
    WaInbox,
    agent,
    conversation_of,
    deliver,
    envelope,
    incoming,
    message,
    post_hook,
    run_jobs,
    sign,
    stored,
    text,
)


def challenge(wa: WaInbox, token: str, mode: str = "subscribe") -> dict[str, str]:
    return {"hub.mode": mode, "hub.verify_token": token, "hub.challenge": "1158201444"}


async def test_challenge_answers_with_the_challenge_only_for_the_right_token(
    client: httpx.AsyncClient, wa: WaInbox
) -> None:
    r = await client.get(wa.hook, params=challenge(wa, wa.verify_token))
    assert r.status_code == 200
    assert r.text == "1158201444"
    assert r.headers["content-type"].startswith("text/plain")

    wrong = await client.get(wa.hook, params=challenge(wa, "guessed"))
    assert wrong.status_code == 403
    assert "1158201444" not in wrong.text
    assert (
        await client.get(wa.hook, params=challenge(wa, wa.verify_token, "x"))
    ).status_code == 403
    assert (await client.get(wa.hook)).status_code == 403
    unknown = await client.get("/channels/whatsapp/nope/webhook", params=challenge(wa, "x"))
    assert unknown.status_code == 404


async def test_signature_missing_or_wrong_stores_nothing(
    client: httpx.AsyncClient, wa: WaInbox
) -> None:
    payload = incoming(text("wamid.A1", "Hello"))
    missing = await post_hook(client, wa, payload, signature="")
    assert missing.status_code == 401
    wrong = await post_hook(client, wa, payload, secret="not-the-app-secret")
    assert wrong.status_code == 403
    garbage = await post_hook(client, wa, payload, signature="sha256=zzz")
    assert garbage.status_code == 403
    assert await stored(wa) == []

    ok = await post_hook(client, wa, payload)
    assert ok.status_code == 200
    other = await client.post("/channels/whatsapp/no-such-inbox/webhook", content=b"{}")
    assert other.status_code == 404
    assert [m.text for m in await stored(wa)] == ["Hello"]


async def test_signature_covers_the_exact_bytes(client: httpx.AsyncClient, wa: WaInbox) -> None:
    body = b'{"object": "whatsapp_business_account", "entry": []}'
    signed_other = sign(wa.app_secret, body.replace(b" ", b""))
    r = await post_hook(client, wa, None, raw=body, signature=signed_other)
    assert r.status_code == 403
    assert (await post_hook(client, wa, None, raw=body)).status_code == 200


async def test_malformed_payloads_are_refused_and_nothing_is_stored(
    client: httpx.AsyncClient, wa: WaInbox
) -> None:
    good = text("wamid.OK1", "fine")
    bad_shapes = [
        b"not json at all",
        b"[1, 2, 3]",
        b'{"object": "whatsapp_business_account", "entry": {"id": "x"}}',
    ]
    for raw in bad_shapes:
        r = await post_hook(client, wa, None, raw=raw)
        assert r.status_code == 400, raw
        assert r.json()["error"]["code"] == "bad_request"
    # One broken message (no id) spoils the whole payload, the good one included.
    broken = {"from": CUSTOMER, "type": "text", "text": {"body": "no id"}}
    r = await post_hook(client, wa, incoming(good, broken))
    assert r.status_code == 400
    no_body = message("text", "wamid.X", text={})
    assert (await post_hook(client, wa, incoming(no_body))).status_code == 400
    assert await stored(wa) == []


async def test_text_fills_the_contact_and_a_repeat_is_stored_once(
    client: httpx.AsyncClient, wa: WaInbox
) -> None:
    payload = incoming(text("wamid.T1", "I cannot log in <b>help</b>"))
    await deliver(client, wa, payload)
    await deliver(client, wa, payload)  # Meta retries until it gets a 200
    (msg,) = await stored(wa)
    assert msg.text == "I cannot log in <b>help</b>"
    assert msg.external_id == "wamid.T1"
    assert msg.author_name == "Taras Shevchuk"
    conv = await conversation_of(wa)
    assert conv.contact_address == CUSTOMER
    assert conv.channel == "whatsapp"
    async with sessionmaker()() as session:
        contact = await session.get(Contact, conv.contact_id)
        assert contact is not None
        assert contact.name == "Taras Shevchuk"
        assert contact.phone == "+380501112233"

    # The agent sees it in the First line queue.
    headers = await agent(client)
    r = await client.get(f"/api/v1/conversations/{conv.id}/messages", headers=headers)
    assert [m["text"] for m in r.json()["items"]] == ["I cannot log in <b>help</b>"]


async def test_several_messages_in_one_payload_are_all_stored(
    client: httpx.AsyncClient, wa: WaInbox
) -> None:
    payload = incoming(*(text(f"wamid.M{i}", f"part {i}") for i in range(5)))
    await deliver(client, wa, payload)
    msgs = await stored(wa)
    assert sorted(m.text for m in msgs) == [f"part {i}" for i in range(5)]
    assert len({m.conversation_id for m in msgs}) == 1


async def test_image_is_announced_then_fetched_by_the_media_job(
    client: httpx.AsyncClient, wa: WaInbox, graph: FakeGraph
) -> None:

    graph.add_media("1480365123", PNG, "image/png")
    image = {"id": "1480365123", "mime_type": "image/png", "sha256": "x", "caption": "my card"}
    await deliver(client, wa, incoming(message("image", "wamid.I1", image=image)))
    (msg,) = await stored(wa)
    assert msg.text == "my card"
    assert msg.meta["media_pending"] == 1

    await run_jobs()
    assert graph.downloads == ["1480365123"]
    headers = await agent(client)
    r = await client.get(f"/api/v1/conversations/{msg.conversation_id}/messages", headers=headers)
    (item,) = r.json()["items"]
    assert "media_pending" not in item["meta"]
    (att,) = item["attachments"]
    assert att["content_type"] == "image/png"
    assert att["size"] == len(PNG)
    file = await client.get(att["url"], headers=headers)
    assert file.content == PNG


async def test_a_file_announced_over_the_limit_is_not_downloaded(
    client: httpx.AsyncClient, wa: WaInbox, graph: FakeGraph
) -> None:
    graph.add_media("777", b"%PDF-1.4 tiny", "application/pdf", announced=50 * 1024 * 1024)
    doc = {"id": "777", "mime_type": "application/pdf", "filename": "statement.pdf"}
    await deliver(client, wa, incoming(message("document", "wamid.D1", document=doc)))
    await run_jobs()
    assert graph.downloads == []
    msgs = await stored(wa)
    assert msgs[0].meta["media_failed"][0]["filename"] == "statement.pdf"
    # The customer is told why, in a message of the conversation.
    assert any("statement.pdf" in m.text for m in msgs[1:])


async def test_button_replies_keep_the_payload(client: httpx.AsyncClient, wa: WaInbox) -> None:
    reply = {"type": "button_reply", "button_reply": {"id": "pay-now", "title": "Pay now"}}
    row = {"type": "list_reply", "list_reply": {"id": "topic-2", "title": "Loan terms"}}
    quick = {"payload": "STOP-REMINDERS", "text": "Stop reminders"}
    await deliver(
        client,
        wa,
        incoming(
            message("interactive", "wamid.B1", interactive=reply),
            message("interactive", "wamid.B2", interactive=row),
            message("button", "wamid.B3", button=quick),
        ),
    )
    got = {m.external_id: (m.text, m.meta.get("button_payload")) for m in await stored(wa)}
    assert got == {
        "wamid.B1": ("Pay now", "pay-now"),
        "wamid.B2": ("Loan terms", "topic-2"),
        "wamid.B3": ("Stop reminders", "STOP-REMINDERS"),
    }


async def test_location_and_contacts_become_readable_text(
    client: httpx.AsyncClient, wa: WaInbox
) -> None:
    where = {"latitude": 50.4501, "longitude": 30.5234, "name": "Office", "address": "Kyiv"}
    card = {
        "name": {"formatted_name": "Olha Petrenko", "first_name": "Olha"},
        "phones": [{"phone": "+380 67 000 1122", "type": "CELL"}],
    }
    await deliver(
        client,
        wa,
        incoming(
            message("location", "wamid.L1", location=where),
            message("contacts", "wamid.C1", contacts=[card]),
        ),
    )
    got = {m.external_id: m.text for m in await stored(wa)}
    assert "Office, Kyiv" in got["wamid.L1"] and "50.450100" in got["wamid.L1"]
    assert got["wamid.C1"] == "Contact: Olha Petrenko, +380 67 000 1122"


async def test_unknown_kinds_and_fields_are_acknowledged_and_ignored(
    client: httpx.AsyncClient, wa: WaInbox
) -> None:
    reaction = message("reaction", "wamid.R1", reaction={"message_id": "x", "emoji": "👍"})
    await deliver(client, wa, incoming(reaction))
    other_field = envelope({})
    other_field["entry"][0]["changes"][0]["field"] = "account_update"
    await deliver(client, wa, other_field)
    await deliver(client, wa, {"object": "page", "entry": []})
    # Another number of the same Meta app: not this inbox's message.
    foreign = incoming(text("wamid.F1", "for the other number"))
    foreign["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] = "999999999"
    await deliver(client, wa, foreign)
    assert await stored(wa) == []


async def test_an_old_message_keeps_its_whatsapp_time(
    client: httpx.AsyncClient, wa: WaInbox
) -> None:
    await deliver(client, wa, incoming(text("wamid.O1", "late", ago=3 * 3600)))
    (msg,) = await stored(wa)
    conv = await conversation_of(wa)
    assert msg.created_at < conv.created_at
