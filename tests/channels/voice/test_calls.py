"""Whole calls through the ARI adapter against the PBX simulator: menu, queue, an agent's
phone, the rating digit, callbacks for callers who gave up, and the statistics they leave."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from urllib.parse import unquote

import httpx
import pytest
from sqlalchemy import select

from omniline import db
from omniline.channels.voice.models import VoiceCallback
from omniline.surveys.models import SurveyAnswer
from tests.bots.support import admin, crm_fixture, lender_flow, publish
from tests.channels.voice.support import (
    AGENT2_PHONE,
    AGENT_PHONE,
    CALLER,
    Line,
    call_of,
    call_where,
    callbacks,
    conversation,
    event_types,
    eventually,
    running_line,
)
from tests.conftest import Demo

crm = pytest.fixture(crm_fixture)


@pytest.fixture
async def line(demo: Demo) -> AsyncIterator[Line]:
    async for running in running_line(demo):
        yield running


def spoken(uris: list[str]) -> str:
    return " | ".join(unquote(u) for u in uris)


async def test_menu_queue_agent_and_rating(
    client: httpx.AsyncClient, line: Line, crm: object, demo: Demo
) -> None:
    await publish(client, await admin(client), lender_flow("http://127.0.0.1:9"),
                  inbox_id=line.inbox_id)  # fmt: skip
    await line.phone(AGENT_PHONE, answer_after_s=0.1)
    ch = await line.call()
    call = await eventually(lambda: call_where(ch, state="ivr"), what="the call in the menu")
    await eventually(lambda: _heard(line, ch, "operator, press 0"), what="the whole menu")
    heard = spoken(await line.played(ch))
    assert "Hello! How can we help?" in heard
    assert "For Loan status, press 1." in heard and "For Talk to a person, press 2." in heard
    assert "To speak to an operator, press 0." in heard
    await line.press(ch, "2")  # "Talk to a person": a handoff with priority 2
    talking = await eventually(lambda: call_where(ch, state="talking"), what="answered")
    assert talking.agent_id == demo.users["agent"]
    assert talking.queued_at is not None and talking.answered_at is not None
    assert talking.priority == 2
    conv = await conversation(call.conversation_id)
    assert conv.assignee_id == demo.users["agent"] and conv.status == "assigned"
    await eventually(lambda: line.bridged(ch), what="the caller and the agent connected")
    # The agent hangs up on their phone: the caller hears the rating question and presses 5.
    await line.phone_action(AGENT_PHONE, "hangup")
    await eventually(
        lambda: _heard(line, ch, "Please rate the conversation from 1 to 5"), what="rating"
    )
    await line.press(ch, "5")
    ended = await eventually(lambda: call_where(ch, state="ended"), what="the call's end")
    assert ended.csat == 5 and ended.end_reason == "answered"
    async with db.sessionmaker()() as session:
        answer = await session.scalar(
            select(SurveyAnswer).where(SurveyAnswer.conversation_id == call.conversation_id)
        )
    assert answer is not None and answer.score == 5 and answer.agent_id == demo.users["agent"]
    assert answer.channel == "voice"
    kinds = await event_types(call.conversation_id)
    for kind in ("call_started", "call_offered", "call_answered", "call_agent_left",
                 "survey_answered", "call_ended"):  # fmt: skip
        assert kind in kinds, kinds
    assert (await conversation(call.conversation_id)).status == "resolved"


async def _heard(line: Line, channel: str, text: str) -> bool:
    return text in spoken(await line.played(channel))


async def test_self_service_through_the_crm_with_no_agent(
    client: httpx.AsyncClient, line: Line, crm: object
) -> None:
    """Loan status by phone number typed on the keypad, read from the CRM: no agent at all."""
    await publish(client, await admin(client), lender_flow(crm.url), inbox_id=line.inbox_id)  # type: ignore[attr-defined]
    ch = await line.call()
    await eventually(lambda: _heard(line, ch, "press 1"), what="the menu")
    await line.press(ch, "1")
    await eventually(lambda: _heard(line, ch, "Your phone number?"), what="the question")
    await line.press(ch, "0442079468#")  # a Kyiv number, read as Ukrainian (the line's country)
    await eventually(lambda: _heard(line, ch, "Your application is"), what="the CRM's answer")
    assert "Your application is approved (15000)." in spoken(await line.played(ch))
    assert crm.calls[-1]["path"] == "/loans/%2B380442079468"  # type: ignore[attr-defined]
    await eventually(lambda: _heard(line, ch, "Goodbye!"), what="the goodbye")
    ended = await eventually(lambda: call_where(ch, state="ended"), what="the hang-up")
    assert ended.end_reason == "ivr" and ended.agent_id is None and ended.queued_at is None


async def test_caller_who_gives_up_is_called_back_when_an_agent_frees(
    line: Line, demo: Demo
) -> None:
    # Nobody is free: the only online agent's phone is gone. The caller waits, then hangs up.
    await line.phone(AGENT_PHONE, answer_after_s=None)
    async with db.unit_of_work() as session:
        from omniline.presence.service import do_set_presence

        await do_set_presence(session, demo.workspace_id, demo.users["agent"], "away")
    ch = await line.call()
    await eventually(lambda: call_where(ch, state="queued"), what="queued")
    await _sleep(0.5)  # past the short-abandon threshold (0.3 s here)
    await line.hangup(ch)
    ended = await eventually(lambda: call_where(ch, state="ended"), what="abandoned")
    assert ended.end_reason == "abandoned" and ended.short_abandon is False
    (cb,) = await eventually(callbacks, what="the callback request")
    assert cb.number == CALLER and cb.status == "pending" and cb.reason == "abandoned"
    assert cb.place_at == ended.queued_at
    # An agent frees: their phone rings first; once they answer, the customer is dialled.
    await line.number(CALLER, answer_after_s=0.1, talk_s=0.3)
    await line.phone(AGENT2_PHONE, answer_after_s=0.1)
    async with db.unit_of_work() as session:
        from omniline.presence.service import do_set_presence

        await do_set_presence(session, demo.workspace_id, demo.users["agent2"], "online")
    done = await eventually(
        lambda: _callback_status("done"), timeout=10, what="the callback completed"
    )
    assert done.agent_id == demo.users["agent2"] and done.attempts == 1
    assert done.last_result == "connected"


async def _callback_status(status: str) -> VoiceCallback | None:
    found = await callbacks()
    return found[0] if found and found[0].status == status else None


async def test_a_caller_who_gets_through_again_loses_the_callback(line: Line, demo: Demo) -> None:
    async with db.unit_of_work() as session:
        from omniline.presence.service import do_set_presence

        await do_set_presence(session, demo.workspace_id, demo.users["agent"], "away")
    first = await line.call()
    await eventually(lambda: call_where(first, state="queued"), what="queued")
    await _sleep(0.5)
    await line.hangup(first)
    await eventually(callbacks, what="the callback request")
    # Before any agent frees, the customer calls again and an agent answers that call.
    second = await line.call()
    await eventually(lambda: call_where(second, state="queued"), what="queued again")
    await line.phone(AGENT_PHONE, answer_after_s=0.1)
    async with db.unit_of_work() as session:
        from omniline.presence.service import do_set_presence

        await do_set_presence(session, demo.workspace_id, demo.users["agent"], "online")
    await eventually(lambda: call_where(second, state="talking"), what="answered")
    cancelled = await eventually(lambda: _callback_status("cancelled"), what="cancelled")
    assert cancelled.last_result == "called_again"


async def test_a_short_abandon_makes_no_callback(line: Line, demo: Demo) -> None:
    # A roomy threshold: the test's own polling must not make the hang-up a long one.
    line.controller.settings = replace(line.controller.settings, short_abandon_s=3.0)
    async with db.unit_of_work() as session:
        from omniline.presence.service import do_set_presence

        await do_set_presence(session, demo.workspace_id, demo.users["agent"], "away")
    ch = await line.call()
    await eventually(lambda: call_where(ch, state="queued"), what="queued")
    await line.hangup(ch)
    ended = await eventually(lambda: call_where(ch, state="ended"), what="ended")
    assert ended.short_abandon is True
    await _sleep(0.3)
    assert await callbacks() == []


async def test_unknown_caller_id_makes_a_contact(line: Line) -> None:
    ch = await line.call(caller="anonymous")
    call = await eventually(lambda: call_of(ch), what="the call")
    conv = await conversation(call.conversation_id)
    assert conv.contact_id > 0 and call.caller == "anonymous"


async def _sleep(seconds: float) -> None:
    import asyncio

    await asyncio.sleep(seconds)
