"""Card numbers are masked before a message is stored, in both directions."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from omniline import db
from omniline.conversations.card_numbers import mask_cards, mask_message_fields
from omniline.conversations.models import Message
from tests.conftest import Demo, bearer, staff_token, visitor

VISA = "4276 8301 2345 6781"  # Luhn-valid


def test_valid_numbers_in_any_grouping_are_masked_and_others_left() -> None:
    assert mask_cards(f"my card {VISA} thanks") == ("my card 427683******6781 thanks", 1)
    assert mask_cards("4276-8301-2345-6781") == ("427683******6781", 1)
    assert mask_cards("4276830123456781")[0] == "427683******6781"
    assert mask_cards("378282246310005")[0] == "378282*****0005"  # 15-digit Amex
    # Not Luhn-valid, too short, a phone number, a long order number: untouched.
    for text in ("4276 8301 2345 6780", "order 12345678901", "+7 999 123-45-67",
                 "tracking 12345678901234567890123"):  # fmt: skip
        assert mask_cards(text) == (text, 0)


def test_meta_strings_are_masked_and_counted() -> None:
    _, meta = mask_message_fields("see subject", {"subject": f"card {VISA}", "n": 1})
    assert meta == {"subject": "card 427683******6781", "n": 1, "cards_masked": 1}
    untouched = {"subject": "hello"}
    assert mask_message_fields("hi", untouched)[1] is untouched


async def test_customer_and_agent_messages_are_stored_masked(
    client: httpx.AsyncClient, demo: Demo
) -> None:
    token = await visitor(client)
    r = await client.post(
        "/api/v1/widget/messages", json={"text": f"pay with {VISA}"}, headers=bearer(token)
    )
    assert r.status_code == 201, r.text
    conv_id = r.json()["conversation_id"]
    admin = bearer(await staff_token(client, "admin@demo.omniline", "demo-admin"))
    r = await client.post(
        f"/api/v1/conversations/{conv_id}/messages",
        json={"text": f"you wrote {VISA.replace(' ', '-')}"},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    assert r.json()["text"] == "you wrote 427683******6781"
    listed = await client.get(f"/api/v1/conversations/{conv_id}/messages", headers=admin)
    items = listed.json()["items"]
    assert [m["meta"].get("cards_masked") for m in items] == [1, 1]
    async with db.unit_of_work() as session:
        texts = list(await session.scalars(select(Message.text)))
    assert not any("8301" in t for t in texts)
    assert "pay with 427683******6781" in texts


async def test_an_edited_message_is_masked_too(client: httpx.AsyncClient, demo: Demo) -> None:
    token = await visitor(client)
    r = await client.post("/api/v1/widget/messages", json={"text": "hi"}, headers=bearer(token))
    msg_id = r.json()["id"]
    async with db.unit_of_work() as session:
        msg = await session.get(Message, msg_id)
        assert msg is not None
        msg.text = f"corrected: {VISA}"
    async with db.unit_of_work() as session:
        msg = await session.get(Message, msg_id)
        assert msg is not None
        assert msg.text == "corrected: 427683******6781" and msg.meta["cards_masked"] == 1
