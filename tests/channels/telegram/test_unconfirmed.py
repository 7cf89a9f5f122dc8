"""A worker killed with kill -9 during a send (issue 9, item 16): the Bot API has no
idempotency key, so the reply is not sent a second time; the agent sees it as unconfirmed
and decides."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select, update

from omniline import db
from omniline.channels.telegram import sender as telegram_sender
from omniline.conversations.models import Message
from omniline.conversations.service import do_reply
from omniline.jobs.models import Job
from omniline.jobs.runner import Runner
from omniline.kit.clock import utcnow
from tests.channels.telegram.fake_telegram import FakeTelegram
from tests.channels.telegram.helpers import (
    CHAT,
    admin_principal,
    make_bot,
    message,
    messages_of,
    post,
    run_jobs,
)
from tests.conftest import Demo, bearer, staff_token

AGENT = ("agent@demo.omniline", "demo-agent")


async def _conversation(client: httpx.AsyncClient, demo: Demo, fake: FakeTelegram) -> int:
    bot = await make_bot(demo, fake)
    assert (await post(client, bot, message(text="Where is my money?"))).status_code == 200
    (incoming,) = await messages_of(bot.inbox_id)
    return incoming.conversation_id


async def _reply(demo: Demo, conv_id: int, text: str) -> int:
    async with db.unit_of_work() as session:
        received = await do_reply(session, admin_principal(demo), conv_id, text)
        return received.message.id


async def _message(message_id: int) -> Message:
    async with db.sessionmaker()() as session:
        msg = await session.get(Message, message_id)
        assert msg is not None
        return msg


async def _worker_dies_during_the_send(msg_id: int) -> None:
    """A runner claims the job and calls Telegram, then its process is killed before the
    outcome is committed: its transaction never commits, its memory is gone, and its lease
    runs out so another runner takes the job over."""
    from omniline.conversations.delivery import deliver_message

    dying = Runner()
    claimed = await dying.claim()
    async with db.sessionmaker()() as session:
        jobs = (await session.scalars(select(Job).where(Job.id.in_(claimed)))).all()
    (payload,) = [
        dict(j.payload)
        for j in jobs
        if j.kind == "deliver_message" and j.payload.get("message_id") == msg_id
    ]
    async with db.sessionmaker()() as session:
        await deliver_message(session, payload)
        await session.rollback()  # killed: nothing of this transaction is committed
    telegram_sender._unrecorded.clear()  # nor is anything it kept in memory left
    await dying.stop()
    async with db.unit_of_work() as session:
        await session.execute(update(Job).where(Job.id.in_(claimed)).values(locked_until=utcnow()))


async def test_a_reply_whose_worker_died_mid_send_is_not_sent_twice_and_shows_unconfirmed(
    demo: Demo, client: httpx.AsyncClient, fake_telegram: FakeTelegram
) -> None:
    conv_id = await _conversation(client, demo, fake_telegram)
    msg_id = await _reply(demo, conv_id, "Your refund is on its way")
    await _worker_dies_during_the_send(msg_id)
    assert len(fake_telegram.called("sendMessage")) == 1  # Telegram took it

    await run_jobs()  # another runner takes the job over
    assert len(fake_telegram.called("sendMessage")) == 1
    msg = await _message(msg_id)
    assert msg.delivery_status == "unconfirmed"
    assert "may or may not have reached the customer" in (msg.delivery_error or "")

    headers = bearer(await staff_token(client, *AGENT))
    listed = await client.get(f"/api/v1/conversations/{conv_id}/messages", headers=headers)
    (out,) = [m for m in listed.json()["items"] if m["id"] == msg_id]
    assert out["delivery_status"] == "unconfirmed"


async def test_sending_an_unconfirmed_reply_by_hand_sends_it_once(
    demo: Demo, client: httpx.AsyncClient, fake_telegram: FakeTelegram
) -> None:
    conv_id = await _conversation(client, demo, fake_telegram)
    msg_id = await _reply(demo, conv_id, "Your refund is on its way")
    await _worker_dies_during_the_send(msg_id)
    await run_jobs()
    assert (await _message(msg_id)).delivery_status == "unconfirmed"

    headers = bearer(await staff_token(client, *AGENT))
    url = f"/api/v1/conversations/{conv_id}/messages/{msg_id}/retry"
    for _ in range(3):  # an impatient agent clicks three times
        r = await client.post(url, headers=headers)
        assert r.status_code in (200, 409), r.text
    await run_jobs()
    assert len(fake_telegram.called("sendMessage")) == 2  # the lost one and the agent's one
    msg = await _message(msg_id)
    assert msg.delivery_status == "sent"
    assert msg.external_id == f"{CHAT}:{fake_telegram._next_id}"
    async with db.sessionmaker()() as session:
        states = (await session.scalars(select(Job.state))).all()
    assert "pending" not in states


async def test_a_timeout_after_telegram_got_the_request_is_unconfirmed_not_repeated(
    demo: Demo, client: httpx.AsyncClient, fake_telegram: FakeTelegram
) -> None:
    conv_id = await _conversation(client, demo, fake_telegram)
    msg_id = await _reply(demo, conv_id, "Your refund is on its way")
    real = telegram_sender._send_part

    async def slow_answer(*args: object, **kw: object) -> dict[str, object]:
        await real(*args, **kw)  # type: ignore[arg-type]
        raise httpx.ReadTimeout("timed out")

    mp = pytest.MonkeyPatch()
    mp.setattr(telegram_sender, "_send_part", slow_answer)
    try:
        await run_jobs()
    finally:
        mp.undo()
    await run_jobs()
    assert len(fake_telegram.called("sendMessage")) == 1
    assert (await _message(msg_id)).delivery_status == "unconfirmed"
