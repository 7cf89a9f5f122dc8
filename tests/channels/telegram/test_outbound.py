"""Agents' replies leaving through the bot: text, buttons, files, rate limits, refusals."""

from __future__ import annotations

from datetime import timedelta

import httpx
import orjson
from sqlalchemy import select, update

from omniline import db
from omniline.config import Settings, get_settings
from omniline.conversations.attachments import store
from omniline.conversations.models import Message
from omniline.conversations.service import do_reply
from omniline.jobs.models import Job
from omniline.kit.clock import utcnow
from tests.channels.telegram.fake_telegram import FakeTelegram
from tests.channels.telegram.helpers import (
    CHAT,
    Bot,
    admin_principal,
    make_bot,
    message,
    messages_of,
    post,
    run_jobs,
)
from tests.conftest import Demo, bearer, staff_token

ADMIN = ("admin@demo.omniline", "demo-admin")


async def _customer_wrote(
    client: httpx.AsyncClient, demo: Demo, fake: FakeTelegram
) -> tuple[Bot, int]:
    bot = await make_bot(demo, fake)
    r = await post(client, bot, message(text="How do I repay?"))
    assert r.status_code == 200
    (incoming,) = await messages_of(bot.inbox_id)
    return bot, incoming.conversation_id


async def _reply(demo: Demo, conv_id: int, text: str, **kw: object) -> int:
    async with db.unit_of_work() as session:
        received = await do_reply(session, admin_principal(demo), conv_id, text, **kw)  # type: ignore[arg-type]
        return received.message.id


async def _message(message_id: int) -> Message:
    async with db.sessionmaker()() as session:
        msg = await session.get(Message, message_id)
        assert msg is not None
        return msg


async def test_a_reply_with_buttons_arrives_as_send_message_with_an_inline_keyboard(
    demo: Demo, client: httpx.AsyncClient, fake_telegram: FakeTelegram
) -> None:
    _bot, conv_id = await _customer_wrote(client, demo, fake_telegram)
    buttons = [
        {"text": "Pay now", "payload": None, "url": "https://microlend.example/pay"},
        {"text": "Extend", "payload": "extend:30d", "url": None},
        {"text": "Продлить на неделю", "payload": "продлить-" * 10, "url": None},
    ]
    msg_id = await _reply(demo, conv_id, "Use the button <below>", meta={"buttons": buttons})
    await run_jobs()
    (sent,) = fake_telegram.called("sendMessage")
    assert sent.params["chat_id"] == str(CHAT)
    assert sent.params["text"] == "Use the button <below>"
    rows = sent.params["reply_markup"]["inline_keyboard"]
    assert rows[0] == [{"text": "Pay now", "url": "https://microlend.example/pay"}]
    assert rows[1] == [{"text": "Extend", "callback_data": "extend:30d"}]
    assert len(rows[2][0]["callback_data"].encode()) <= 64
    msg = await _message(msg_id)
    assert msg.delivery_status == "sent"
    assert msg.external_id == f"{CHAT}:{fake_telegram._next_id}"


async def test_a_reply_through_the_api_is_delivered_and_its_status_is_visible(
    demo: Demo, client: httpx.AsyncClient, fake_telegram: FakeTelegram
) -> None:
    _bot, conv_id = await _customer_wrote(client, demo, fake_telegram)
    headers = bearer(await staff_token(client, *ADMIN))
    r = await client.post(
        f"/api/v1/conversations/{conv_id}/messages", json={"text": "Hello!"}, headers=headers
    )
    assert r.status_code == 201 and r.json()["delivery_status"] == "queued"
    await run_jobs()
    listed = await client.get(f"/api/v1/conversations/{conv_id}/messages", headers=headers)
    out = [m for m in listed.json()["items"] if m["direction"] == "out"]
    assert [(m["text"], m["delivery_status"]) for m in out] == [("Hello!", "sent")]
    assert [c.params["text"] for c in fake_telegram.called("sendMessage")] == ["Hello!"]


async def test_429_keeps_the_message_queued_and_it_goes_out_after_retry_after(
    demo: Demo, client: httpx.AsyncClient, fake_telegram: FakeTelegram
) -> None:
    _bot, conv_id = await _customer_wrote(client, demo, fake_telegram)
    fake_telegram.fail_next("sendMessage", 429, "Too Many Requests: retry after 7", retry_after=7)
    msg_id = await _reply(demo, conv_id, "Your payment is received")
    before = utcnow()
    await run_jobs()
    msg = await _message(msg_id)
    assert msg.delivery_status == "queued"
    assert "Too Many Requests" in (msg.delivery_error or "")
    async with db.sessionmaker()() as session:
        pending = (await session.scalars(select(Job).where(Job.state == "pending"))).all()
    (retry,) = [j for j in pending if j.payload.get("message_id") == msg_id]
    assert retry.run_at >= before + timedelta(seconds=6)

    # Seven seconds later (moved forward instead of waited for), the retry goes out.
    async with db.unit_of_work() as session:
        await session.execute(update(Job).where(Job.id == retry.id).values(run_at=utcnow()))
    await run_jobs()
    texts = [c.params["text"] for c in fake_telegram.called("sendMessage")]
    assert texts == ["Your payment is received", "Your payment is received"]
    msg = await _message(msg_id)
    assert msg.delivery_status == "sent" and msg.delivery_error is None


async def test_a_blocked_bot_fails_for_good_with_telegrams_reason(
    demo: Demo, client: httpx.AsyncClient, fake_telegram: FakeTelegram
) -> None:
    _bot, conv_id = await _customer_wrote(client, demo, fake_telegram)
    fake_telegram.blocked.add(str(CHAT))
    msg_id = await _reply(demo, conv_id, "Are you there?")
    await run_jobs()
    msg = await _message(msg_id)
    assert msg.delivery_status == "failed"
    assert msg.delivery_error == "Forbidden: bot was blocked by the user"
    assert len(fake_telegram.called("sendMessage")) == 1  # not retried
    async with db.sessionmaker()() as session:
        states = (await session.scalars(select(Job.state))).all()
    assert "pending" not in states


async def test_a_server_error_is_retried(
    demo: Demo, client: httpx.AsyncClient, fake_telegram: FakeTelegram
) -> None:
    _bot, conv_id = await _customer_wrote(client, demo, fake_telegram)
    fake_telegram.fail_next("sendMessage", 502, "Bad Gateway")
    msg_id = await _reply(demo, conv_id, "Try again")
    await run_jobs()
    msg = await _message(msg_id)
    assert msg.delivery_status == "retrying" and msg.delivery_error == "Bad Gateway"
    async with db.unit_of_work() as session:
        await session.execute(update(Job).where(Job.state == "pending").values(run_at=utcnow()))
    await run_jobs()
    assert (await _message(msg_id)).delivery_status == "sent"


async def test_files_go_as_photo_and_document_after_the_text(
    demo: Demo, client: httpx.AsyncClient, fake_telegram: FakeTelegram, settings: Settings
) -> None:
    _bot, conv_id = await _customer_wrote(client, demo, fake_telegram)
    png = b"\x89PNG\r\n\x1a\n" + b"\x01" * 40
    pdf = b"%PDF-1.4\nschedule"
    files = [
        store(get_settings(), demo.workspace_id, "qr.png", "image/png", png),
        store(get_settings(), demo.workspace_id, "schedule.pdf", "application/pdf", pdf),
    ]
    buttons = [{"text": "Got it", "payload": "ok", "url": None}]
    msg_id = await _reply(demo, conv_id, "Your schedule", files=files, meta={"buttons": buttons})
    await run_jobs()
    methods = [c.method for c in fake_telegram.calls if c.method.startswith("send")]
    assert methods == ["sendMessage", "sendPhoto", "sendDocument"]
    (photo,) = fake_telegram.called("sendPhoto")
    assert photo.files["photo"] == ("qr.png", "image/png", png)
    (doc,) = fake_telegram.called("sendDocument")
    assert doc.files["document"] == ("schedule.pdf", "application/pdf", pdf)
    assert doc.params["chat_id"] == str(CHAT)
    assert orjson.loads(doc.params["reply_markup"])["inline_keyboard"][0][0]["text"] == "Got it"
    assert "reply_markup" not in fake_telegram.called("sendMessage")[0].params
    assert (await _message(msg_id)).delivery_status == "sent"


async def test_a_retry_after_a_failed_file_does_not_send_the_text_twice(
    demo: Demo, client: httpx.AsyncClient, fake_telegram: FakeTelegram
) -> None:
    _bot, conv_id = await _customer_wrote(client, demo, fake_telegram)
    pdf = b"%PDF-1.4\nschedule"
    files = [store(get_settings(), demo.workspace_id, "schedule.pdf", "application/pdf", pdf)]
    fake_telegram.fail_next("sendDocument", 500, "Internal Server Error")
    msg_id = await _reply(demo, conv_id, "Your schedule", files=files)
    await run_jobs()
    async with db.unit_of_work() as session:
        await session.execute(update(Job).where(Job.state == "pending").values(run_at=utcnow()))
    await run_jobs()
    assert len(fake_telegram.called("sendMessage")) == 1
    assert len(fake_telegram.called("sendDocument")) == 2
    assert (await _message(msg_id)).delivery_status == "sent"


async def test_a_long_reply_is_split_at_telegrams_4096_characters(
    demo: Demo, client: httpx.AsyncClient, fake_telegram: FakeTelegram
) -> None:
    _bot, conv_id = await _customer_wrote(client, demo, fake_telegram)
    text = "a" * 5000
    await _reply(demo, conv_id, text)
    await run_jobs()
    sent = [c.params["text"] for c in fake_telegram.called("sendMessage")]
    assert [len(t) for t in sent] == [4096, 904]
    assert "".join(sent) == text


async def test_a_picture_telegram_refuses_as_a_photo_goes_as_a_file(
    demo: Demo, client: httpx.AsyncClient, fake_telegram: FakeTelegram
) -> None:
    _bot, conv_id = await _customer_wrote(client, demo, fake_telegram)
    png = b"\x89PNG\r\n\x1a\n" + b"\x02" * 40
    files = [store(get_settings(), demo.workspace_id, "banner.png", "image/png", png)]
    fake_telegram.fail_next("sendPhoto", 400, "Bad Request: PHOTO_INVALID_DIMENSIONS")
    msg_id = await _reply(demo, conv_id, "", files=files)
    await run_jobs()
    (doc,) = fake_telegram.called("sendDocument")
    assert doc.files["document"] == ("banner.png", "image/png", png)
    assert fake_telegram.called("sendMessage") == []
    assert (await _message(msg_id)).delivery_status == "sent"


async def test_an_unreachable_telegram_is_retried_later(
    demo: Demo, client: httpx.AsyncClient, fake_telegram: FakeTelegram
) -> None:
    from tests.conftest import free_port

    bot = await make_bot(demo, fake_telegram, api_base=f"http://127.0.0.1:{free_port()}")
    await post(client, bot, message(text="Hello?"))
    (incoming,) = await messages_of(bot.inbox_id)
    msg_id = await _reply(demo, incoming.conversation_id, "Hello!")
    await run_jobs()
    msg = await _message(msg_id)
    assert msg.delivery_status == "retrying"
    assert "cannot be reached" in (msg.delivery_error or "")
    async with db.sessionmaker()() as session:
        pending = (await session.scalars(select(Job).where(Job.state == "pending"))).all()
    assert [j.payload["message_id"] for j in pending] == [msg_id]


async def test_a_reply_sent_before_the_database_went_away_is_not_sent_again(
    demo: Demo, client: httpx.AsyncClient, fake_telegram: FakeTelegram
) -> None:
    """bench/faults.py, PostgreSQL killed: Telegram took the reply, then the job's commit
    failed, and the job's next run (same worker) sent the customer the reply a second time."""
    from omniline.conversations.delivery import deliver_message

    _bot, conv_id = await _customer_wrote(client, demo, fake_telegram)
    msg_id = await _reply(demo, conv_id, "Your payment is through")
    async with db.sessionmaker()() as session:
        await deliver_message(session, {"message_id": msg_id})
        await session.rollback()  # the commit never happened: the database went away
    assert len(fake_telegram.called("sendMessage")) == 1
    assert (await _message(msg_id)).delivery_status == "queued"

    await run_jobs()  # the job again, once the database answers
    assert len(fake_telegram.called("sendMessage")) == 1
    msg = await _message(msg_id)
    assert msg.delivery_status == "sent"
    assert msg.external_id == f"{CHAT}:{fake_telegram._next_id}"
