"""High load ("you are number N, about M minutes") and out-of-hours replies."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import select, update

from omniline import db
from omniline.autoreplies import wait_estimate
from omniline.conversations.inbound import InboundMessage
from omniline.conversations.models import Conversation, Status
from omniline.conversations.service import receive_inbound
from omniline.kit.clock import utcnow
from omniline.presence.models import AgentState, Presence
from omniline.sla.models import BusinessCalendar, SlaPolicy
from tests.autoreplies.support import (
    ADMIN,
    admin_headers,
    bot_texts,
    create_rule,
    customer_writes,
    fire,
)
from tests.conftest import Demo, bearer, staff_token

HIGH_LOAD = "You are number {position}, about {wait_minutes} minutes."


async def set_online(demo: Demo, *names: str) -> None:
    async with db.unit_of_work() as session:
        for name in names:
            session.add(
                AgentState(
                    user_id=demo.users[name],
                    workspace_id=demo.workspace_id,
                    status=Presence.online.value,
                )
            )


async def resolved_history(demo: Demo, minutes: list[int]) -> None:
    """Resolved conversations of First line that took these many minutes each."""
    _token, conv_id = await customer_writes_direct(demo)
    now = utcnow()
    async with db.unit_of_work() as session:
        conv = await session.get(Conversation, conv_id)
        assert conv is not None
        for m in minutes:
            session.add(
                Conversation(
                    workspace_id=demo.workspace_id,
                    inbox_id=demo.inbox_id,
                    channel="webchat",
                    contact_id=conv.contact_id,
                    queue_id=demo.queues["First line"],
                    status=Status.resolved.value,
                    first_assigned_at=now - timedelta(minutes=m + 30),
                    resolved_at=now - timedelta(minutes=30),
                    tags=[],
                )
            )
        await session.delete(conv)


async def customer_writes_direct(demo: Demo) -> tuple[str, int]:
    async with db.unit_of_work() as session:
        got = await receive_inbound(
            session,
            [
                InboundMessage(
                    workspace_id=demo.workspace_id,
                    inbox_id=demo.inbox_id,
                    contact_id=None,
                    sender_address="history-visitor",
                    text="old case",
                )
            ],
        )
        return "", got[0].message.conversation_id


async def test_high_load_from_the_third_customer_on(client: httpx.AsyncClient, demo: Demo) -> None:
    h = await admin_headers(client)
    await create_rule(
        client, h, kind="high_load", min_position=2, texts=[{"language": "en", "text": HIGH_LOAD}]
    )
    await set_online(demo, "agent", "agent2")
    await resolved_history(demo, [6, 10, 14])  # 10 minutes on average
    customers = [await customer_writes(client, f"customer {i}") for i in range(4)]
    for _token, conv_id in customers:
        await fire("conversation.queued", demo, conv_id)
        await fire("conversation.queued", demo, conv_id)  # once per queueing
    # Two agents online, 10 minutes per case: number 3 waits ceil(3 * 10 / 2) = 15 minutes.
    assert [await bot_texts(client, t) for t, _ in customers] == [
        [],
        [],
        ["You are number 3, about 15 minutes."],
        ["You are number 4, about 20 minutes."],
    ]


async def test_high_load_by_estimated_wait(client: httpx.AsyncClient, demo: Demo) -> None:
    h = await admin_headers(client)
    await create_rule(
        client,
        h,
        kind="high_load",
        min_wait_minutes=9,
        texts=[{"language": "en", "text": HIGH_LOAD}],
    )
    # Nobody online and no history: one agent's pace at the default 5 minutes per case.
    customers = [await customer_writes(client, f"c{i}") for i in range(2)]
    for _token, conv_id in customers:
        await fire("conversation.created", demo, conv_id)
    assert await bot_texts(client, customers[0][0]) == []
    assert await bot_texts(client, customers[1][0]) == ["You are number 2, about 10 minutes."]


async def test_high_load_again_after_a_new_queueing(client: httpx.AsyncClient, demo: Demo) -> None:
    h = await admin_headers(client)
    await create_rule(
        client, h, kind="high_load", min_position=0, texts=[{"language": "en", "text": HIGH_LOAD}]
    )
    token, conv_id = await customer_writes(client)
    await fire("conversation.queued", demo, conv_id)
    staff = bearer(await staff_token(client, *ADMIN))
    agent = demo.users["agent"]
    r = await client.post(
        f"/api/v1/conversations/{conv_id}/assign", json={"assignee_id": agent}, headers=staff
    )
    assert r.status_code == 200
    r = await client.post(
        f"/api/v1/conversations/{conv_id}/assign", json={"assignee_id": None}, headers=staff
    )
    assert r.status_code == 200
    await fire("conversation.queued", demo, conv_id)
    assert len(await bot_texts(client, token)) == 2


async def test_position_puts_priority_first(client: httpx.AsyncClient, demo: Demo) -> None:
    ids = [(await customer_writes(client, f"p{i}"))[1] for i in range(3)]
    async with db.unit_of_work() as session:
        await session.execute(
            update(Conversation).where(Conversation.id == ids[2]).values(priority=5)
        )
    async with db.sessionmaker()() as session:
        convs = {c.id: c for c in await session.scalars(select(Conversation))}
        positions = [await wait_estimate.position(session, convs[i]) for i in ids]
        agents, source = await wait_estimate.agents_on_duty(
            session, demo.workspace_id, demo.queues["First line"]
        )
    assert positions == [2, 3, 1]
    assert (agents, source) == (0, "presence")


def calendar(*, closed_today: bool) -> BusinessCalendar:
    today = utcnow().date().isoformat()
    return BusinessCalendar(
        name="Kyiv office" if closed_today else "Always",
        timezone="UTC",
        hours={
            d: [{"start": "00:00", "end": "24:00"}]
            for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
        },
        holidays=[{"date": today, "name": "Holiday", "hours": []}] if closed_today else [],
    )


async def add_calendar(demo: Demo, *, closed_today: bool) -> int:
    async with db.unit_of_work() as session:
        cal = calendar(closed_today=closed_today)
        cal.workspace_id = demo.workspace_id
        session.add(cal)
        await session.flush()
        return cal.id


async def out_of_hours_setup(
    client: httpx.AsyncClient, demo: Demo, *, closed: bool, replaces: bool = True
) -> str:
    h = await admin_headers(client)
    cal = await add_calendar(demo, closed_today=closed)
    await create_rule(client, h, texts=[{"language": "en", "text": "Hello"}])
    await create_rule(
        client,
        h,
        kind="out_of_hours",
        calendar_id=cal,
        replaces_greeting=replaces,
        texts=[{"language": "en", "text": "We are closed. Hours: {business_hours}"}],
    )
    token, conv_id = await customer_writes(client)
    await fire("conversation.created", demo, conv_id)
    await fire("conversation.created", demo, conv_id)
    return token


async def test_out_of_hours_instead_of_the_greeting(client: httpx.AsyncClient, demo: Demo) -> None:
    token = await out_of_hours_setup(client, demo, closed=True)
    assert await bot_texts(client, token) == ["We are closed. Hours: Mon-Sun 00:00-24:00 (UTC)"]


async def test_out_of_hours_after_the_greeting(client: httpx.AsyncClient, demo: Demo) -> None:
    token = await out_of_hours_setup(client, demo, closed=True, replaces=False)
    assert await bot_texts(client, token) == [
        "Hello",
        "We are closed. Hours: Mon-Sun 00:00-24:00 (UTC)",
    ]


async def test_only_the_greeting_when_open(client: httpx.AsyncClient, demo: Demo) -> None:
    token = await out_of_hours_setup(client, demo, closed=False)
    assert await bot_texts(client, token) == ["Hello"]


async def test_calendar_of_another_workspace_is_refused(
    client: httpx.AsyncClient, demo: Demo
) -> None:
    h = await admin_headers(client)
    r = await client.post(
        "/api/v1/autoreplies",
        json={
            "name": "closed",
            "kind": "out_of_hours",
            "calendar_id": 424242,
            "fallback_language": "en",
            "texts": [{"language": "en", "text": "closed"}],
        },
        headers=h,
    )
    assert r.status_code == 404
    assert r.json()["error"]["fields"][0]["field"] == "calendar_id"


async def test_greeting_carries_the_sla_promise(client: httpx.AsyncClient, demo: Demo) -> None:
    async with db.unit_of_work() as session:
        session.add(
            SlaPolicy(
                workspace_id=demo.workspace_id,
                name="Ten minutes",
                queue_id=demo.queues["First line"],
                first_response_seconds=600,
                warning_actions=[],
                breach_actions=[],
            )
        )
    h = await admin_headers(client)
    text = "We answer within {sla_minutes} minutes or the month is free."
    await create_rule(client, h, texts=[{"language": "en", "text": text}])
    token, conv_id = await customer_writes(client)
    await fire("conversation.created", demo, conv_id)
    assert await bot_texts(client, token) == ["We answer within 10 minutes or the month is free."]
