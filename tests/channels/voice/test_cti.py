"""The generic HTTP CTI API as an integrator's PBX sees it: signed events in, signed
commands out, and a whole call carried by them (docs/channels/voice.md)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
import pytest
import uvicorn
from sqlalchemy import func, select

from omniline import db
from omniline.channels.voice import link
from omniline.channels.voice.models import CtiEvent, VoiceAgent, VoiceQueue
from omniline.inboxes import service as inboxes
from omniline.presence.service import do_set_presence
from tests.channels.voice.support import CALLER, call_where, event_types, eventually
from tests.conftest import Demo

SECRET = "cti-test-secret"
KEY = "cti-line"
_ids = itertools.count(1)


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """Written from the documented rule, not imported, so the test pins the wire format."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


async def _nothing() -> None:
    return None


@dataclass
class Pbx:
    """A PBX's command endpoint: records what Omniline posts, answers 204."""

    url: str = ""
    commands: list[dict[str, Any]] = field(default_factory=list)
    bad_signatures: int = 0
    calls: list[str] = field(default_factory=list)  # what `list` answers
    stop: Callable[[], Awaitable[None]] = field(default=lambda: _nothing())

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        timestamp = headers.get("x-omniline-timestamp", "")
        good = signature(SECRET, timestamp, body)
        if headers.get("x-omniline-signature") != good or abs(time.time() - int(timestamp)) > 300:
            self.bad_signatures += 1
            await send({"type": "http.response.start", "status": 403, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        command = orjson.loads(body)
        self.commands.append(command)
        if command["command"] == "list":
            answer = orjson.dumps({"calls": self.calls})
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", b"application/json")]})  # fmt: skip
            await send({"type": "http.response.body", "body": answer})
            return
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    def named(self, name: str, **wanted: Any) -> list[dict[str, Any]]:
        return [
            c
            for c in self.commands
            if c["command"] == name and all(c.get(k) == v for k, v in wanted.items())
        ]


async def _serve(recorder: Pbx, port: int = 0) -> tuple[uvicorn.Server, asyncio.Task[None]]:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    server = uvicorn.Server(uvicorn.Config(recorder, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        await asyncio.sleep(0.01)
    recorder.url = f"http://127.0.0.1:{sock.getsockname()[1]}/commands"
    recorder.stop = lambda: _stop(server, task, sock)
    return server, task


async def _stop(server: uvicorn.Server, task: asyncio.Task[None], sock: socket.socket) -> None:
    server.should_exit = True
    await asyncio.wait_for(task, 10)
    sock.close()


@pytest.fixture
async def pbx() -> AsyncIterator[Pbx]:
    recorder = Pbx()
    await _serve(recorder)
    try:
        yield recorder
    finally:
        await recorder.stop()


@pytest.fixture
async def inbox_id(demo: Demo, pbx: Pbx) -> AsyncIterator[int]:
    first = demo.queues["First line"]
    async with db.unit_of_work() as session:
        inbox = await inboxes.do_create_inbox(
            session,
            demo.workspace_id,
            channel="voice",
            name="CTI line",
            key=KEY,
            default_queue_id=first,
            settings={
                "provider": "cti",
                "cti_url": pbx.url,
                "cti_secret": SECRET,
                "region": "UA",
                "language": "en",
                "short_abandon_s": 5,
                "acw_s": 0.2,
                "csat": False,
            },
        )
        session.add(
            VoiceAgent(user_id=demo.users["agent"], workspace_id=demo.workspace_id,
                       endpoint="PJSIP/1001")
        )  # fmt: skip
        session.add(VoiceQueue(queue_id=first, workspace_id=demo.workspace_id,
                               announce_every_s=None))  # fmt: skip
        await do_set_presence(session, demo.workspace_id, demo.users["agent"], "online")
        found = inbox.id
    try:
        yield found
    finally:
        await link.stop_all()


async def post(
    client: httpx.AsyncClient,
    event: dict[str, Any] | bytes,
    *,
    secret: str = SECRET,
    timestamp: int | None = None,
) -> httpx.Response:
    body = event if isinstance(event, bytes) else orjson.dumps(event)
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    return await client.post(
        f"/voice/cti/{KEY}",
        content=body,
        headers={
            "content-type": "application/json",
            "x-omniline-timestamp": stamp,
            "x-omniline-signature": signature(secret, stamp, body),
        },
    )


def event(kind: str, **fields: Any) -> dict[str, Any]:
    return {"id": f"ev-{next(_ids)}", "type": kind, **fields}


async def stored_events(inbox_id: int) -> int:
    async with db.sessionmaker()() as session:
        count = await session.scalar(
            select(func.count()).select_from(CtiEvent).where(CtiEvent.inbox_id == inbox_id)
        )
        return int(count or 0)


async def test_events_are_signed_json_with_an_id_and_stored_once(
    client: httpx.AsyncClient, inbox_id: int
) -> None:
    ping = event("pbx.note")
    assert (await post(client, ping, secret="not-the-secret")).status_code == 403
    assert (await post(client, ping, timestamp=int(time.time()) - 301)).status_code == 403
    assert (await post(client, b"{not json")).status_code == 400
    assert (await post(client, {"type": "call.hangup", "call": "x"})).status_code == 400
    assert (await post(client, {"id": "no-type"})).status_code == 400
    unsigned = await client.post(f"/voice/cti/{KEY}", content=orjson.dumps(ping))
    assert unsigned.status_code == 403
    assert await stored_events(inbox_id) == 0
    first = await post(client, ping)
    assert first.status_code == 200 and first.json() == {"ok": True}
    again = await post(client, ping)
    assert again.status_code == 200 and again.json() == {"ok": True, "duplicate": True}
    assert await stored_events(inbox_id) == 1
    assert (await client.post("/voice/cti/no-such-line", content=b"{}")).status_code == 404


async def test_a_whole_call_over_the_cti_api(
    client: httpx.AsyncClient, inbox_id: int, pbx: Pbx, demo: Demo
) -> None:
    await link.start(inbox_id)
    ref = "pbx-call-1"
    offered = event("call.offered", call=ref, caller=CALLER, dialled="+380443334455",
                    at="2026-12-04T08:19:03Z")  # fmt: skip
    assert (await post(client, offered)).status_code == 200
    # No menu on this line: answered, welcomed, queued; the online agent's phone rings.
    ring = await eventually(lambda: _first(pbx, "ring"), what="the agent's phone rung")
    assert ring["extension"] == "PJSIP/1001" and ring["call"] == "" and ring["leg"]
    assert ring["caller_id"] == CALLER and ring["number"] == ""
    # Commands of one call go in order; another leg's may overtake them.
    play = await eventually(lambda: _first(pbx, "play", call=ref), what="the welcome")
    # No music is playing yet: the welcome needs no "music off" before it.
    assert [c["command"] for c in pbx.commands if c.get("call") == ref][:2] == ["answer", "play"]
    assert pbx.named("music", call=ref) == []
    assert play["language"] == "en" and play["prompt_id"]
    assert play["prompts"] == [{"text": "Thank you for calling. Please stay on the line."}]
    # The welcome ends: music while the caller waits.
    done = event("call.prompt_done", call=ref, prompt_id=play["prompt_id"])
    assert (await post(client, done)).status_code == 200
    await eventually(lambda: _first(pbx, "music", call=ref, on=True), what="music on hold")
    queued = await eventually(lambda: call_where(ref, state="queued"), what="queued")
    assert queued.queued_at is not None
    # The agent picks up: Omniline bridges the caller with that leg.
    await post(client, event("leg.ringing", leg=ring["leg"]))
    assert (await post(client, event("leg.answered", leg=ring["leg"]))).status_code == 200
    await eventually(lambda: _first(pbx, "connect", call=ref, leg=ring["leg"]), what="connect")
    talking = await eventually(lambda: call_where(ref, state="talking"), what="talking")
    assert talking.agent_id == demo.users["agent"] and talking.answered_at is not None
    # The caller hangs up: the call ends with its figures, the agent's leg is hung up.
    await post(client, event("call.hangup", call=ref, side="customer", cause=16))
    ended = await eventually(lambda: call_where(ref, state="ended"), what="the call's end")
    assert ended.end_reason == "answered" and ended.hangup_side == "customer"
    assert ended.hangup_cause == 16 and ended.short_abandon is False
    assert ended.arrived_at is not None and ended.ended_at is not None
    assert ended.acw_until is not None
    await eventually(lambda: _first(pbx, "hangup", call=ring["leg"]), what="the leg hung up")
    assert pbx.bad_signatures == 0


async def test_a_caller_who_hangs_up_waiting_is_an_abandon(
    client: httpx.AsyncClient, inbox_id: int, pbx: Pbx, demo: Demo
) -> None:
    async with db.unit_of_work() as session:
        await do_set_presence(session, demo.workspace_id, demo.users["agent"], "away")
    await link.start(inbox_id)
    ref = "pbx-call-2"
    await post(client, event("call.offered", call=ref, caller=CALLER, dialled="+380443334455"))
    await eventually(lambda: call_where(ref, state="queued"), what="queued")
    await post(client, event("call.hangup", call=ref))
    ended = await eventually(lambda: call_where(ref, state="ended"), what="abandoned")
    assert ended.end_reason == "abandoned" and ended.short_abandon is True
    assert not pbx.named("ring")


async def test_a_ring_that_ends_unanswered_is_a_missed_call(
    client: httpx.AsyncClient, inbox_id: int, pbx: Pbx
) -> None:
    """A PBX may report a ring that never answered as call.hangup of the leg, not
    leg.failed: it is the same miss (else the agent would stay "ringing" until timeout)."""
    await link.start(inbox_id)
    ref = "pbx-call-3"
    await post(client, event("call.offered", call=ref, caller=CALLER, dialled="+380443334455"))
    ring = await eventually(lambda: _first(pbx, "ring"), what="the agent's phone rung")
    await post(client, event("call.hangup", leg=ring["leg"], cause=17))
    call = await eventually(lambda: call_where(ref, state="queued"), what="queued")
    kinds = await eventually(
        lambda: _with(call.conversation_id, "call_missed"), what="the missed ring"
    )
    assert "call_answered" not in kinds


async def _with(conv_id: int, kind: str) -> list[str] | None:
    kinds = await event_types(conv_id)
    return kinds if kind in kinds else None


async def _first(pbx: Pbx, name: str, **wanted: Any) -> dict[str, Any] | None:
    found = pbx.named(name, **wanted)
    return found[0] if found else None


async def test_events_out_of_order_repeated_or_unknown_are_absorbed(
    client: httpx.AsyncClient, inbox_id: int, pbx: Pbx, demo: Demo
) -> None:
    """Nothing a confused PBX sends breaks the line: each is absorbed, and the next call
    is handled as usual."""
    async with db.unit_of_work() as session:
        await do_set_presence(session, demo.workspace_id, demo.users["agent"], "away")
    controller = await link.start(inbox_id)
    for stray in (
        event("call.digits", call="nobody", digits="5"),
        event("call.hangup", call="nobody", cause=16),
        event("call.prompt_done", call="nobody", prompt_id="p0"),
        event("call.hold", call="nobody"),
        event("leg.failed", leg="no-leg", reason="busy"),
        event("call.recording", call="nobody", name="x"),
        event("call.offered", call=""),  # no call id: ignored
        event("pbx.reboot"),  # a type we do not know
    ):
        assert (await post(client, stray)).status_code == 200
    # A leg we never rang answers: it is hung up, nothing else changes.
    await post(client, event("leg.answered", leg="stranger"))
    await eventually(lambda: _first(pbx, "hangup", call="stranger"), what="the stranger hung up")
    # The same call offered twice is one call; a hang-up before any answer, then a late
    # leg.answered for it, leaves it ended once.
    ref = "pbx-call-9"
    offered = dict(event("call.offered", call=ref, caller=CALLER, dialled="+380443334455"))
    await post(client, offered)
    await post(client, {**offered, "id": "another-id-same-call"})
    await eventually(lambda: call_where(ref, state="queued"), what="queued")
    await post(client, event("call.hangup", call=ref))
    await post(client, event("call.hangup", call=ref))
    ended = await eventually(lambda: call_where(ref, state="ended"), what="ended")
    async with db.sessionmaker()() as session:
        from omniline.channels.voice.models import VoiceCall

        count = await session.scalar(
            select(func.count()).select_from(VoiceCall).where(VoiceCall.ref == ref)
        )
    assert count == 1 and ended.end_reason == "abandoned"
    assert "call_ended" in await event_types(ended.conversation_id)
    assert (await event_types(ended.conversation_id)).count("call_ended") == 1
    assert controller.calls == {} and controller.legs == {}


async def test_a_pbx_that_stops_answering_is_shown_down_and_its_calls_stay_counted(
    client: httpx.AsyncClient,
    inbox_id: int,
    pbx: Pbx,
    demo: Demo,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A CTI PBX has no socket to lose: Omniline asks a silent PBX for its calls. When it
    stops answering, supervisors see the line down; when it is back, a call that ended
    meanwhile is closed as lost (hang-up side `pbx`), one it still holds goes on."""
    from omniline.channels.voice import cti
    from omniline.channels.voice.models import VoiceLink
    from omniline.realtime.service import get_realtime
    from tests.conftest import bearer, staff_token

    monkeypatch.setattr(cti, "LINK_CHECK_S", 0.3)
    monkeypatch.setattr(cti, "RETRY_S", 0.2)
    async with db.unit_of_work() as session:
        await do_set_presence(session, demo.workspace_id, demo.users["agent"], "away")
    seen: list[dict[str, Any]] = []
    get_realtime().bus.listen(
        lambda ev: seen.append(dict(ev.data)) if ev.type == "voice.link" else None
    )
    await link.start(inbox_id)
    kept, lost = "pbx-call-kept", "pbx-call-lost"
    for ref in (kept, lost):
        await post(client, event("call.offered", call=ref, caller=CALLER, dialled="+380443334455"))
        await eventually(lambda ref=ref: call_where(ref, state="queued"), what="queued")
    port = int(pbx.url.split(":")[2].split("/")[0])
    await pbx.stop()  # the PBX's command side is gone: connections are refused

    async def down() -> VoiceLink | None:
        async with db.sessionmaker()() as session:
            row = await session.get(VoiceLink, inbox_id)
            return row if row is not None and row.up is False else None

    row = await eventually(down, what="the line shown down")
    assert "unreachable" in (row.last_error or "")
    token = await staff_token(client, "supervisor@demo.omniline", "demo-supervisor")
    status = (await client.get("/api/v1/voice/status", headers=bearer(token))).json()
    line = next(x for x in status["links"] if x["inbox_id"] == inbox_id)
    assert line["up"] is False and "unreachable" in line["error"]
    # Back, holding only one of the two calls.
    pbx.calls = [kept]
    await _serve(pbx, port)

    async def up() -> VoiceLink | None:
        async with db.sessionmaker()() as session:
            row = await session.get(VoiceLink, inbox_id)
            return row if row is not None and row.up else None

    await eventually(up, what="the line back up")
    ended = await eventually(lambda: call_where(lost, state="ended"), what="closed as lost")
    assert ended.end_reason == "lost" and ended.hangup_side == "pbx"
    assert (await call_where(kept, state="queued")) is not None
    # Supervisors and administrators were told (each lead gets their own copy).
    ups = [e["up"] for e in seen if e.get("inbox_id") == inbox_id]
    changes = [up for i, up in enumerate(ups) if i == 0 or ups[i - 1] != up]
    assert changes == [True, False, True]


async def test_a_transfer_the_pbx_made_is_on_the_timeline(
    client: httpx.AsyncClient, inbox_id: int, pbx: Pbx, demo: Demo
) -> None:
    """An agent who transfers on the desk phone: the PBX reports call.transferred, the
    timeline shows where the call went, and the call ends with its hang-up."""
    await link.start(inbox_id)
    ref = "pbx-call-transfer"
    await post(client, event("call.offered", call=ref, caller=CALLER, dialled="+380443334455"))
    ring = await eventually(lambda: _first(pbx, "ring"), what="the agent's phone rung")
    await post(client, event("leg.answered", leg=ring["leg"]))
    talking = await eventually(lambda: call_where(ref, state="talking"), what="talking")
    await post(client, event("call.transferred", call=ref, to="+380442000000"))
    await eventually(
        lambda: _with(talking.conversation_id, "call_transferred"), what="the transfer"
    )
    async with db.sessionmaker()() as session:
        from omniline.conversations.models import ConversationEvent

        moved = await session.scalar(
            select(ConversationEvent).where(
                ConversationEvent.conversation_id == talking.conversation_id,
                ConversationEvent.type == "call_transferred",
            )
        )
        assert moved is not None
        assert moved.data["to_number"] == "+380442000000" and moved.data["by"] == "pbx"
    await post(client, event("call.hangup", call=ref, side="pbx", cause=16))
    ended = await eventually(lambda: call_where(ref, state="ended"), what="the call's end")
    assert ended.hangup_side == "pbx"
