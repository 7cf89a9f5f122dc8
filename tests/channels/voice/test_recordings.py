"""A recorded call: the recording reaches the timeline, a signed link that expires plays it
for the agent on the call and for supervisors, others get nothing, and listening is audited."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import select

from omniline import db
from omniline.audit.models import AuditEntry
from omniline.channels.voice.recordings import signature
from tests.channels.voice.support import (
    AGENT_PHONE,
    Line,
    call_where,
    event_types,
    eventually,
    running_line,
)
from tests.conftest import Demo, bearer, staff_token


@pytest.fixture
async def line(demo: Demo) -> AsyncIterator[Line]:
    async for running in running_line(demo, settings={"record": True, "csat": False}):
        yield running


async def test_a_recorded_call_plays_through_a_signed_link(
    client: httpx.AsyncClient, line: Line, demo: Demo
) -> None:
    await line.phone(AGENT_PHONE, answer_after_s=0.05)
    ch = await line.call()
    await eventually(lambda: call_where(ch, state="talking"), what="answered")
    await eventually(lambda: line.bridged(ch), what="connected")
    await line.phone_action(AGENT_PHONE, "hangup")
    call = await eventually(lambda: _recorded(ch), what="the recording's metadata")
    assert call.recording and call.recording["name"] == f"call-{call.id}"
    assert "call_recording" in await event_types(call.conversation_id)

    agent = bearer(await staff_token(client, "agent@demo.omniline", "demo-agent"))
    r = await client.post(f"/api/v1/voice/calls/{call.id}/recording-link", headers=agent)
    assert r.status_code == 200, r.text
    url = r.json()["url"]
    audio = await client.get(url)
    assert audio.status_code == 200 and audio.content[:4] == b"RIFF"
    assert audio.headers["content-type"].startswith("audio/")
    async with db.sessionmaker()() as session:
        opened = await session.scalar(
            select(AuditEntry).where(AuditEntry.action == "voice.recording_opened")
        )
    assert opened is not None and opened.target_id == str(call.id)

    # Another agent of the same queue, not on the call, may not listen.
    other = bearer(await staff_token(client, "agent2@demo.omniline", "demo-agent"))
    assert (
        await client.post(f"/api/v1/voice/calls/{call.id}/recording-link", headers=other)
    ).status_code == 403
    supervisor = bearer(await staff_token(client, "supervisor@demo.omniline", "demo-supervisor"))
    assert (
        await client.post(f"/api/v1/voice/calls/{call.id}/recording-link", headers=supervisor)
    ).status_code == 200
    # A tampered or expired link plays nothing.
    tampered = url.replace("sig=", "sig=0")
    assert (await client.get(tampered)).status_code == 403
    expired = f"/voice/recordings/{call.id}?expires=1000&sig={signature(call.id, 1000)}"
    assert (await client.get(expired)).status_code == 403
    assert (
        await client.post("/api/v1/voice/calls/999999/recording-link", headers=agent)
    ).status_code == 404


async def _recorded(ref: str) -> object:
    call = await call_where(ref)
    return call if call is not None and call.recording else None
