"""The phone's rating question follows the inbox's survey settings when an admin made them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import unquote

import httpx
import pytest

from tests.bots.support import admin, lender_flow, publish
from tests.channels.voice.support import (
    AGENT_PHONE,
    Line,
    call_where,
    eventually,
    running_line,
)
from tests.conftest import Demo
from tests.surveys.support import answers, enable, headers


@pytest.fixture
async def line(demo: Demo) -> AsyncIterator[Line]:
    async for running in running_line(demo):
        yield running


async def _heard(line: Line, channel: str, text: str) -> bool:
    return text in " | ".join(unquote(u) for u in await line.played(channel))


async def _agent_hangs_up(client: httpx.AsyncClient, line: Line) -> str:
    await publish(client, await admin(client), lender_flow("http://127.0.0.1:9"),
                  inbox_id=line.inbox_id)  # fmt: skip
    await line.phone(AGENT_PHONE, answer_after_s=0.1)
    ch = await line.call()
    await eventually(lambda: call_where(ch, state="ivr"), what="the call in the menu")
    await eventually(lambda: _heard(line, ch, "operator, press 0"), what="the whole menu")
    await line.press(ch, "2")
    await eventually(lambda: call_where(ch, state="talking"), what="answered")
    await eventually(lambda: line.bridged(ch), what="the caller and the agent connected")
    await line.phone_action(AGENT_PHONE, "hangup")
    return ch


async def test_the_inbox_question_and_thanks_are_spoken(
    client: httpx.AsyncClient, line: Line, demo: Demo
) -> None:
    texts = {"en": {"question": "Rate Anna from 1 to 5", "thanks": "Thank you, goodbye"}}
    await enable(client, line.inbox_id, texts=texts)
    ch = await _agent_hangs_up(client, line)
    await eventually(lambda: _heard(line, ch, "Rate Anna from 1 to 5"), what="the question")
    await line.press(ch, "4")
    await eventually(lambda: call_where(ch, state="ended"), what="the call's end")
    assert await _heard(line, ch, "Thank you, goodbye")
    (answer,) = await answers(client)
    assert (answer["score"], answer["channel"]) == (4, "voice")


async def test_a_disabled_survey_is_not_asked(
    client: httpx.AsyncClient, line: Line, demo: Demo
) -> None:
    r = await client.put(
        f"/api/v1/surveys/settings/{line.inbox_id}",
        json={"enabled": False},
        headers=await headers(client),
    )
    assert r.status_code == 200, r.text
    ch = await _agent_hangs_up(client, line)
    await eventually(lambda: call_where(ch, state="ended"), what="the call's end")
    assert not await _heard(line, ch, "Please rate the conversation")
    assert await answers(client) == []
