"""The staff and widget WebSockets against a real server (docs/api.md, "Realtime protocol")."""

from __future__ import annotations

import re

import httpx
import pytest

from omniline import db
from omniline.inboxes import service as inboxes
from omniline.realtime.events import parse_event_id
from tests.conftest import Demo, LiveServer, bearer, staff_token, visitor
from tests.realtime.conftest import (
    Frame,
    Stream,
    assert_increasing,
    close_code_of,
    events_only,
    is_event,
    open_stream,
    reply,
    say,
    ws_url,
)

AGENT = ("agent@demo.omniline", "demo-agent")
ADMIN = ("admin@demo.omniline", "demo-admin")


async def staff_stream(live: LiveServer, token: str, last_event_id: str | None = None) -> Stream:
    return await open_stream(
        ws_url(live, "/api/v1/stream", token=token, last_event_id=last_event_id)
    )


async def widget_stream(live: LiveServer, token: str, last_event_id: str | None = None) -> Stream:
    return await open_stream(
        ws_url(live, "/api/v1/widget/stream", token=token, last_event_id=last_event_id)
    )


# --- staff socket ------------------------------------------------------------------------


async def test_staff_socket_shows_a_visitor_writing(
    live_server: LiveServer, http: httpx.AsyncClient, demo: Demo
) -> None:
    agent = await staff_token(http, *AGENT)
    stream = await staff_stream(live_server, agent)
    hello = await stream.hello()
    assert "last_event_id" in hello

    guest = await visitor(http)
    sent = await say(http, guest, "Where is my loan?")

    got = await stream.until_all(
        is_event("conversation.created", id=sent["conversation_id"]),
        is_event("message.created", message__id=sent["id"]),
    )
    events = events_only(got)
    assert_increasing(events)
    # The list learns of the conversation before its first message (docs/api.md).
    assert [f["type"] for f in events] == ["conversation.created", "message.created"]
    created = next(f for f in events if f["type"] == "conversation.created")["data"]
    message = next(f for f in events if f["type"] == "message.created")["data"]

    assert created["id"] == sent["conversation_id"]
    assert created["locked"] is False
    assert created["status"] == "queued"
    assert created["queue"] == {"id": demo.queues["First line"], "name": "First line"}
    assert created["last_message"]["text"] == "Where is my loan?"
    assert message["conversation_id"] == sent["conversation_id"]
    assert message["message"]["id"] == sent["id"]
    assert message["message"]["text"] == "Where is my loan?"
    assert message["message"]["direction"] == "in"
    assert message["message"]["private"] is False
    await stream.ws.close()


async def test_agent_outside_the_queue_sees_a_locked_row_and_no_content(
    live_server: LiveServer, http: httpx.AsyncClient, demo: Demo
) -> None:
    async with db.unit_of_work() as session:
        await inboxes.do_create_inbox(
            session,
            demo.workspace_id,
            channel="webchat",
            name="Tech chat",
            key="tech-widget",
            default_queue_id=demo.queues["Tech support"],
        )
    agent = await staff_stream(live_server, await staff_token(http, *AGENT))
    admin = await staff_stream(live_server, await staff_token(http, *ADMIN))
    await agent.hello()
    await admin.hello()

    secret = "My secret word for the bank is blue-horse-42"
    tech_guest = await visitor(http, "tech-widget")
    tech_msg = await say(http, tech_guest, secret)
    # The admin sees everything: proof that the events went out at all.
    await admin.until(is_event("message.created", message__text=secret))

    # A conversation the agent may see, as an end marker: events reach a socket in order.
    first_line_msg = await say(http, await visitor(http), "Hi from the first line")
    got = await agent.until(
        is_event("message.created", conversation_id=first_line_msg["conversation_id"])
    )

    tech = [
        f
        for f in events_only(got)
        if f["data"].get("id") == tech_msg["conversation_id"]
        or f["data"].get("conversation_id") == tech_msg["conversation_id"]
    ]
    assert [f["type"] for f in tech] == ["conversation.created"]
    row = tech[0]["data"]
    assert row["locked"] is True
    assert row["contact"] is None
    assert row["last_message"] is None
    assert row["tags"] == []
    assert row["queue"]["id"] == demo.queues["Tech support"]
    for frame in got:
        assert "blue-horse-42" not in frame["_raw"], f"content leaked to the agent: {frame['_raw']}"
    await agent.ws.close()
    await admin.ws.close()


# --- widget socket -----------------------------------------------------------------------


async def test_widget_socket_gets_the_agent_reply_and_the_resolution(
    live_server: LiveServer, http: httpx.AsyncClient, demo: Demo
) -> None:
    guest = await visitor(http)
    sent = await say(http, guest, "Hello, anyone there?")
    conv_id = sent["conversation_id"]
    widget = await widget_stream(live_server, guest)
    await widget.hello()

    agent = await staff_token(http, *AGENT)
    answer = await reply(http, agent, conv_id, "Yes, Anna here. How can I help?")
    got = await widget.until(is_event("message.created", id=answer["id"]))
    msg = got[-1]["data"]
    assert msg["text"] == "Yes, Anna here. How can I help?"
    assert msg["direction"] == "out"
    assert msg["author"] == {"type": "agent", "name": "Anna Agent"}
    assert msg["conversation_id"] == conv_id
    assert "private" not in msg and "delivery_status" not in msg, "widget view only"

    r = await http.post(f"/api/v1/conversations/{conv_id}/resolve", headers=bearer(agent))
    assert r.status_code == 200, r.text
    got = await widget.until(is_event("conversation.updated", status="resolved"))
    assert got[-1]["data"] == {"conversation_id": conv_id, "status": "resolved"}
    await widget.ws.close()


async def test_private_notes_never_reach_the_widget(
    live_server: LiveServer, http: httpx.AsyncClient, demo: Demo
) -> None:
    guest = await visitor(http)
    conv_id = (await say(http, guest, "I need help"))["conversation_id"]
    agent = await staff_token(http, *AGENT)
    widget = await widget_stream(live_server, guest)
    staff = await staff_stream(live_server, agent)
    before_note = (await widget.hello())["last_event_id"]
    await staff.hello()

    note = await reply(http, agent, conv_id, "NOTE: customer owes 3 payments", private=True)
    public = await reply(http, agent, conv_id, "Let me check that for you")

    staff_got = await staff.until(is_event("message.created", message__id=public["id"]))
    assert any(is_event("message.created", message__id=note["id"])(f) for f in staff_got)
    # ... the widget gets the public reply, and before it nothing of the note.
    got = await widget.until(is_event("message.created", id=public["id"]))
    for frame in got:
        assert "owes 3 payments" not in frame["_raw"], frame["_raw"]
        assert frame.get("data", {}).get("id") != note["id"]
    # Nor does the replay to a widget that reconnects from before the note.
    again = await widget_stream(live_server, guest, last_event_id=before_note)
    await again.hello()
    replay = await again.until(is_event("message.created", id=public["id"]))
    assert replay[0]["type"] != "resync"
    assert all("owes 3 payments" not in f["_raw"] for f in replay)
    assert [f["data"]["text"] for f in replay if f["type"] == "message.created"] == [
        "Let me check that for you"
    ]
    for s in (widget, staff, again):
        await s.ws.close()


# --- reconnecting ------------------------------------------------------------------------


async def test_reconnect_replays_exactly_the_missed_events(
    live_server: LiveServer, http: httpx.AsyncClient, demo: Demo
) -> None:
    agent = await staff_token(http, *AGENT)
    watcher = await staff_stream(live_server, agent)  # stays connected throughout
    first = await staff_stream(live_server, agent)
    await watcher.hello()
    await first.hello()

    guest = await visitor(http)
    conv_id = (await say(http, guest, "one"))["conversation_id"]
    seen = await first.until_all(
        is_event("conversation.created", id=conv_id),
        is_event("message.created", conversation_id=conv_id),
    )
    last_id = events_only(seen)[-1]["id"]
    await first.ws.close()

    # While the tab is away: a reply, another visitor, a new customer message.
    await reply(http, agent, conv_id, "two")
    other = await visitor(http)
    await say(http, other, "three")
    await say(http, guest, "four")

    back = await staff_stream(live_server, agent, last_event_id=last_id)
    hello = await back.hello()
    marker = await say(http, other, "five: after the reconnect")
    got = events_only(await back.until(is_event("message.created", message__id=marker["id"])))
    expected = events_only(
        await watcher.until(is_event("message.created", message__id=marker["id"]))
    )
    expected = [f for f in expected if parse_event_id(f["id"]) > parse_event_id(last_id)]

    assert_increasing(got)
    assert [f["id"] for f in got] == [f["id"] for f in expected], "duplicates or gaps"
    assert [f["_raw"] for f in got] == [f["_raw"] for f in expected]
    texts = [f["data"]["message"]["text"] for f in got if f["type"] == "message.created"]
    assert texts == ["two", "three", "four", "five: after the reconnect"]
    assert parse_event_id(hello["last_event_id"]) >= parse_event_id(last_id)
    for s in (watcher, back):
        await s.ws.close()


async def test_widget_reconnect_replays_the_missed_reply(
    live_server: LiveServer, http: httpx.AsyncClient, demo: Demo
) -> None:
    guest = await visitor(http)
    conv_id = (await say(http, guest, "hi"))["conversation_id"]
    widget = await widget_stream(live_server, guest)
    hello = await widget.hello()
    await widget.ws.close()

    agent = await staff_token(http, *AGENT)
    await reply(http, agent, conv_id, "Sorry for the wait")

    back = await widget_stream(live_server, guest, last_event_id=hello["last_event_id"])
    await back.hello()
    got = await back.until(is_event("message.created", text="Sorry for the wait"))
    assert [f["data"]["text"] for f in got if f["type"] == "message.created"] == [
        "Sorry for the wait"
    ]
    await back.ws.close()


@pytest.mark.parametrize("settings_overrides", [{"realtime_buffer": 3}])
async def test_a_too_old_last_event_id_gets_resync(
    live_server: LiveServer, http: httpx.AsyncClient, demo: Demo
) -> None:
    agent = await staff_token(http, *AGENT)
    watcher = await staff_stream(live_server, agent)
    await watcher.hello()
    for n in range(3):  # each first message: conversation.created + message.created
        await say(http, await visitor(http), f"visitor {n}")
    frames: list[Frame] = []
    while len(frames) < 6:
        frames += events_only([await watcher.recv()])
    ids = [f["id"] for f in frames]

    # Within the buffer (the last 3 events) the replay is exact.
    recent = await staff_stream(live_server, agent, last_event_id=ids[3])
    await recent.hello()
    got = [await recent.recv() for _ in range(2)]
    assert [f["id"] for f in got] == ids[4:6]
    # The oldest position that still needs nothing dropped: the 3 kept events, no resync.
    edge = await staff_stream(live_server, agent, last_event_id=ids[2])
    await edge.hello()
    assert [(await edge.recv())["id"] for _ in range(3)] == ids[3:6]

    stale = await staff_stream(live_server, agent, last_event_id=ids[1])
    assert (await stale.hello())["type"] == "hello"
    assert (await stale.recv())["type"] == "resync"
    # ... and then goes on with live events.
    msg = await say(http, await visitor(http), "after the resync")
    await stale.until(is_event("message.created", message__id=msg["id"]))
    for s in (watcher, recent, edge, stale):
        await s.ws.close()


# --- protocol ----------------------------------------------------------------------------


async def test_ping_gets_pong(live_server: LiveServer, http: httpx.AsyncClient, demo: Demo) -> None:
    stream = await staff_stream(live_server, await staff_token(http, *AGENT))
    await stream.hello()
    await stream.send({"type": "ping"})
    assert (await stream.recv(timeout=3))["type"] == "pong"

    widget = await widget_stream(live_server, await visitor(http))
    await widget.hello()
    await widget.ws.send("not json")  # ignored, the socket stays usable
    await widget.send({"type": "ping"})
    assert (await widget.recv(timeout=3))["type"] == "pong"
    await stream.ws.close()
    await widget.ws.close()


@pytest.mark.parametrize("settings_overrides", [{"heartbeat_seconds": 0.2}])
async def test_heartbeats_arrive_on_an_idle_socket(
    live_server: LiveServer, http: httpx.AsyncClient, demo: Demo
) -> None:
    stream = await staff_stream(live_server, await staff_token(http, *AGENT))
    await stream.hello()
    assert await stream.recv(timeout=2) == {"type": "heartbeat", "_raw": '{"type":"heartbeat"}'}
    assert (await stream.recv(timeout=2))["type"] == "heartbeat"

    widget = await widget_stream(live_server, await visitor(http))
    await widget.hello()
    assert (await widget.recv(timeout=2))["type"] == "heartbeat"
    await stream.ws.close()
    await widget.ws.close()


# --- refusals ----------------------------------------------------------------------------


async def test_bad_token_closes_with_4401(
    live_server: LiveServer, http: httpx.AsyncClient, demo: Demo
) -> None:
    assert await close_code_of(ws_url(live_server, "/api/v1/stream", token="nonsense")) == 4401
    assert await close_code_of(ws_url(live_server, "/api/v1/stream")) == 4401, "no token at all"
    guest = await visitor(http)  # a widget token is no staff token
    assert await close_code_of(ws_url(live_server, "/api/v1/stream", token=guest)) == 4401
    assert (
        await close_code_of(ws_url(live_server, "/api/v1/widget/stream", token="nonsense")) == 4401
    )
    # The same sockets with good tokens are served.
    good = await staff_stream(live_server, await staff_token(http, *AGENT))
    await good.hello()
    await good.ws.close()


async def _session_cookie(http: httpx.AsyncClient) -> str:
    page = await http.get("/login")
    assert page.status_code == 200
    csrf = page.cookies.get("omniline_login_csrf")
    assert csrf and re.search(re.escape(csrf), page.text), "the login form carries its token"
    r = await http.post(
        "/login",
        data={"email": AGENT[0], "password": AGENT[1], "csrf_token": csrf, "next": "/app"},
    )
    assert r.status_code == 303, r.text
    cookie = r.cookies.get("omniline_session")
    assert cookie
    return cookie


async def test_cookie_socket_from_a_foreign_origin_is_refused(
    live_server: LiveServer, http: httpx.AsyncClient, demo: Demo
) -> None:
    cookie = await _session_cookie(http)
    url = ws_url(live_server, "/api/v1/stream")
    headers = {"Cookie": f"omniline_session={cookie}"}

    own = await open_stream(url, additional_headers=headers, origin=live_server.url)
    await own.hello()
    await own.ws.close()

    code = await close_code_of(url, additional_headers=headers, origin="http://evil.example")
    assert code == 4403


async def test_a_message_sent_again_is_pushed_again_when_the_first_push_was_lost(
    live_server: LiveServer, http: httpx.AsyncClient, demo: Demo
) -> None:
    """bench/faults.py, PostgreSQL killed: a commit reached the database as the connection
    broke, so the request answered 503 and pushed nothing; the widget's retry with the same
    client_id found the stored message and answered 201, and the agent never saw it live
    (no push, no resync). A retry now pushes the stored message again."""
    guest = await visitor(http)
    body = {"text": "Is my payment through?", "client_id": "c-17"}
    first = await http.post("/api/v1/widget/messages", json=body, headers=bearer(guest))
    assert first.status_code == 201, first.text
    # The agent's socket opens after the first attempt: like a push that never went out.
    stream = await staff_stream(live_server, await staff_token(http, *AGENT))
    await stream.hello()

    again = await http.post("/api/v1/widget/messages", json=body, headers=bearer(guest))
    assert again.status_code == 201, again.text
    assert again.json()["id"] == first.json()["id"]
    got = await stream.until(is_event("message.created", message__id=first.json()["id"]))
    assert got[-1]["data"]["message"]["text"] == "Is my payment through?"
    await stream.ws.close()
