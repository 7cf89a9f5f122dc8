"""A customer in the widget goes through a published flow: every node type, the CRM's good
and bad answers, escalation, handoff with the variables, a restart in the middle."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from omniline.bots import faq, turns
from tests.bots.support import (
    Crm,
    Customer,
    admin,
    bot_session,
    conversation,
    crm_fixture,
    events,
    lender_flow,
    publish,
    run_jobs,
)
from tests.conftest import Demo

crm = pytest.fixture(crm_fixture)


@pytest.fixture
async def flow(client: httpx.AsyncClient, demo: Demo, crm: Crm) -> int:
    return await publish(client, await admin(client), lender_flow(crm.url), inbox_id=demo.inbox_id)


async def test_menu_ask_crm_message_end(client: httpx.AsyncClient, flow: int, crm: Crm) -> None:
    c = await Customer.open(client)
    await c.send("hi")
    (greeting,) = await c.replies()
    assert greeting["text"] == "Hello! How can we help?"
    assert [b["text"] for b in greeting["buttons"]] == [
        "Loan status",
        "Talk to a person",
        "Nothing, thanks",
    ]
    assert (await conversation(c.conversation_id)).status == "bot"
    await c.send("Loan status", greeting["buttons"][0]["payload"])
    assert [m["text"] for m in await c.replies()] == ["Your phone number?"]
    await c.send("+44 20 7946 0958")
    texts = [m["text"] for m in await c.replies()]
    assert texts == ["Your application is approved (15000).", "Goodbye!"]
    # The CRM got the checked number (percent-encoded in the URL) and the stored secret.
    assert crm.calls[-1] == {"path": "/loans/%2B442079460958", "auth": "Bearer s3cret"}
    conv = await conversation(c.conversation_id)
    assert conv.status == "resolved"
    bs = await bot_session(c.conversation_id)
    assert bs.status == "resolved" and bs.variables["status"] == "approved"
    assert "bot_resolved" in [e.type for e in await events(c.conversation_id)]


@pytest.mark.parametrize("last_digit", ["0", "1", "2"], ids=["500", "garbage", "timeout"])
async def test_a_crm_that_fails_takes_the_error_branch(
    client: httpx.AsyncClient, flow: int, last_digit: str
) -> None:
    c = await Customer.open(client)
    await c.send("hi")
    await c.send("1")  # the first option, typed as a digit
    await c.send("+44 20 7946 095" + last_digit)
    texts = [m["text"] for m in await c.replies()]
    assert texts[-1] == "Let me find a colleague."
    conv = await conversation(c.conversation_id)
    assert (conv.status, conv.topic) == ("queued", "loan status")
    handoff = [e for e in await events(c.conversation_id) if e.type == "bot_handoff"]
    assert handoff[0].data["reason"] == "flow_handoff"
    assert handoff[0].data["variables"]["phone"].startswith("+44")


async def test_a_wrong_answer_is_asked_again_then_handed_over(
    client: httpx.AsyncClient, flow: int
) -> None:
    c = await Customer.open(client)
    await c.send("hi")
    await c.send("Loan status")  # the label typed instead of pressed
    await c.send("not a phone")
    texts = [m["text"] for m in await c.replies()]
    assert texts[-2:] == ["That does not look right. Please try again.", "Your phone number?"]
    await c.send("still not")
    assert (await conversation(c.conversation_id)).status == "queued"
    bs = await bot_session(c.conversation_id)
    assert (bs.status, bs.outcome) == ("handed_over", "not_understood")


@pytest.mark.parametrize("word", ["оператор", "Operator!", "людина", "человек"])
async def test_asking_for_a_person_hands_over_at_any_point(
    client: httpx.AsyncClient, flow: int, word: str
) -> None:
    c = await Customer.open(client)
    await c.send("hi")
    await c.send("1")
    await c.send(word)
    conv = await conversation(c.conversation_id)
    assert conv.status == "queued"
    bs = await bot_session(c.conversation_id)
    assert bs.outcome == "asked_for_person"
    assert (await c.replies())[-1][
        "text"
    ] == "I am passing you to a colleague. Please wait a moment."


async def test_not_understood_twice_hands_over(client: httpx.AsyncClient, flow: int) -> None:
    c = await Customer.open(client)
    await c.send("hi")
    await c.send("qwerty")
    texts = [m["text"] for m in await c.replies()]
    assert texts[-2:] == [
        "Sorry, I did not understand. Please choose one of the options.",
        "Hello! How can we help?",
    ]
    await c.send("asdfgh")
    bs = await bot_session(c.conversation_id)
    assert (bs.status, bs.outcome) == ("handed_over", "not_understood")


async def test_handoff_node_sets_topic_priority_and_the_agent_sees_the_variables(
    client: httpx.AsyncClient, flow: int
) -> None:
    c = await Customer.open(client)
    await c.send("I need help")
    await c.send("2")
    conv = await conversation(c.conversation_id)
    assert (conv.status, conv.topic, conv.priority) == ("queued", "person", 2)
    h = await admin(client)
    r = await client.get(f"/api/v1/bots/conversations/{c.conversation_id}", headers=h)
    assert r.status_code == 200
    s = r.json()["session"]
    assert s["status"] == "handed_over" and s["outcome"] == "flow_handoff"
    assert s["variables"]["first_message"] == "I need help"
    assert s["path"] == ["menu", "person"]
    # The transcript is the conversation's own history: the agent reads it in the timeline.
    r = await client.get(f"/api/v1/conversations/{c.conversation_id}/messages", headers=h)
    authors = [m["author"]["type"] for m in r.json()["items"]]
    assert authors[:3] == ["contact", "bot", "contact"]


async def test_two_messages_at_once_advance_the_flow_once_each_in_order(
    client: httpx.AsyncClient, flow: int
) -> None:
    c = await Customer.open(client)
    await c.send("hi")
    await c.replies()
    await c.send("1", run=False)
    await c.send("+44 20 7946 0958", run=False)
    from tests.channels.telegram.helpers import run_jobs

    await run_jobs()
    texts = [m["text"] for m in await c.replies()]
    assert texts == [
        "Your phone number?",
        "Your application is approved (15000).",
        "Goodbye!",
    ]


async def test_a_restart_in_the_middle_continues_where_it_stood(
    client: httpx.AsyncClient, flow: int
) -> None:
    c = await Customer.open(client)
    await c.send("hi")
    await c.send("1")
    # Everything the process kept in memory is gone, as after a restart.
    turns._graphs.clear()
    faq._models.clear()
    await c.send("+44 20 7946 0958")
    assert [m["text"] for m in await c.replies()][-1] == "Goodbye!"


async def test_the_contacts_language_picks_the_texts(client: httpx.AsyncClient, flow: int) -> None:
    c = await Customer.open(client, locale="ru-RU")
    await c.send("Здравствуйте")
    (greeting,) = await c.replies()
    assert greeting["text"] == "Здравствуйте! Чем помочь?"
    assert greeting["buttons"][0]["text"] == "Статус займа"
    await c.send("Статус займа")
    assert (await c.replies())[0]["text"] == "Ваш номер телефона?"


async def test_an_agent_taking_over_stops_the_bot(
    client: httpx.AsyncClient, flow: int, demo: Demo
) -> None:
    c = await Customer.open(client)
    await c.send("hi")
    await c.replies()
    h = await admin(client)
    r = await client.post(
        f"/api/v1/conversations/{c.conversation_id}/assign",
        json={"assignee_id": demo.users["admin"]},
        headers=h,
    )
    assert r.status_code == 200, r.text
    await c.send("1")
    assert await c.replies() == []
    bs = await bot_session(c.conversation_id)
    assert (bs.status, bs.outcome) == ("dropped", "taken_over")


async def test_a_skip_bot_rule_sends_the_conversation_straight_to_the_queue(
    client: httpx.AsyncClient, flow: int, demo: Demo
) -> None:
    h = await admin(client)
    r = await client.post(
        "/api/v1/routing/rules",
        json={
            "name": "VIP skip bot",
            "conditions": [{"type": "keywords", "keywords": ["urgent"]}],
            "actions": {"skip_bot": True, "queue_id": demo.queues["First line"]},
        },
        headers=h,
    )
    assert r.status_code == 201, r.text
    c = await Customer.open(client)
    await c.send("urgent: my card is blocked")
    assert (await conversation(c.conversation_id)).status == "queued"
    assert await c.replies() == []


async def test_silence_gets_a_reminder_then_a_close(client: httpx.AsyncClient, flow: int) -> None:
    from datetime import timedelta

    from sqlalchemy import update

    from omniline import db
    from omniline.jobs.models import Job
    from omniline.kit.clock import utcnow
    from tests.channels.telegram.helpers import run_jobs

    c = await Customer.open(client)
    await c.send("hi")
    await c.replies()

    async def time_passes() -> None:
        async with db.unit_of_work() as session:
            await session.execute(
                update(Job)
                .where(Job.kind == "bot_silence", Job.state == "pending")
                .values(run_at=utcnow() - timedelta(seconds=1))
            )
        await run_jobs()

    await time_passes()
    assert [m["text"] for m in await c.replies()] == ["Are you still there? Reply to continue."]
    assert (await conversation(c.conversation_id)).status == "bot"
    await time_passes()
    assert [m["text"] for m in await c.replies()] == [
        "We closed this chat as there was no reply. Write again any time."
    ]
    assert (await conversation(c.conversation_id)).status == "resolved"
    assert (await bot_session(c.conversation_id)).outcome == "silence"


async def _waiting_for_the_crm(client: httpx.AsyncClient, demo: Demo, crm: Crm) -> Customer:
    """A customer whose turn is running and waits for a slow CRM (a number ending in 3)."""
    flow = lender_flow(crm.url, crm_seconds=10)
    await publish(client, await admin(client), flow, inbox_id=demo.inbox_id)
    c = await Customer.open(client)
    await c.send("hi")
    (greeting,) = await c.replies()
    await c.send("Loan status", greeting["buttons"][0]["payload"])
    assert [m["text"] for m in await c.replies()] == ["Your phone number?"]
    await c.send("+44 20 7946 0953", run=False)
    return c


async def test_a_slow_crm_does_not_hold_up_other_customers(
    client: httpx.AsyncClient, demo: Demo, crm: Crm
) -> None:
    """While one customer's flow waits for the lender's CRM, another customer's message is
    stored at once: the turn writes nothing before the flow has run (on SQLite, one write
    lock for the whole database, held from the first write to the commit)."""
    a = await _waiting_for_the_crm(client, demo, crm)
    turn = asyncio.create_task(run_jobs())
    try:
        assert await asyncio.to_thread(crm.asked.wait, 10)
        b = await Customer.open(client)
        await b.send("hello", run=False)
        assert not crm.answered.is_set()  # stored while the CRM still had the question
    finally:
        crm.gate.set()
        await turn
    texts = [m["text"] for m in await a.replies()]
    assert texts == ["Your application is approved (3).", "Goodbye!"]


@pytest.mark.sqlite_only  # on PostgreSQL the turn locks its session row: a takeover waits
async def test_an_agent_taking_over_while_the_crm_answers_silences_the_bot(
    client: httpx.AsyncClient, demo: Demo, crm: Crm
) -> None:
    a = await _waiting_for_the_crm(client, demo, crm)
    turn = asyncio.create_task(run_jobs())
    try:
        assert await asyncio.to_thread(crm.asked.wait, 10)
        r = await client.post(
            f"/api/v1/conversations/{a.conversation_id}/assign",
            json={"assignee_id": demo.users["admin"]},
            headers=await admin(client),
        )
        assert r.status_code == 200, r.text
    finally:
        crm.gate.set()
        await turn
    # The flow's answer came after the agent took the conversation: the bot keeps quiet.
    assert await a.replies() == []
    bs = await bot_session(a.conversation_id)
    assert (bs.status, bs.outcome) == ("dropped", "taken_over")
    assert (await conversation(a.conversation_id)).status != "bot"
