"""Unit tests of the realtime core: the replay buffer, event ids, the in-process bus and the
hub's audience rules (who receives which variant of an event)."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from omniline.auth.principal import Principal, Visitor
from omniline.realtime.buffer import EventBuffer
from omniline.realtime.bus import MemoryBus
from omniline.realtime.events import Audience, RealtimeEvent, parse_event_id
from omniline.realtime.hub import Connection, Hub, StaffConnection, VisitorConnection

WS, OTHER_WS = 1, 2
FIRST_LINE, TECH = 10, 30


def ev(event_id: str, type_: str = "message.created", **data: Any) -> RealtimeEvent:
    return RealtimeEvent(type=type_, data=data, audience=Audience(workspace_id=WS), id=event_id)


def ids(events: list[RealtimeEvent] | None) -> list[str] | None:
    return None if events is None else [e.id for e in events]


# --- EventBuffer -------------------------------------------------------------------------


def test_buffer_replays_events_after_the_given_id() -> None:
    buf = EventBuffer(10)
    for n in range(1, 6):
        buf.append(ev(str(n)))
    assert ids(buf.since("2")) == ["3", "4", "5"]
    assert ids(buf.since("5")) == []
    assert buf.head_id == "5"


def test_buffer_resyncs_when_the_id_is_older_than_what_it_keeps() -> None:
    buf = EventBuffer(3)
    for n in range(1, 8):
        buf.append(ev(str(n)))
    # 5, 6, 7 are kept; 4 was the last dropped.
    assert ids(buf.since("4")) == ["5", "6", "7"], "a client that saw 4 missed nothing kept"
    assert buf.since("3") is None, "event 4 is gone: the client must resync"
    assert buf.since("1") is None
    assert ids(buf.since("7")) == []


def test_buffer_floor_from_a_shared_stream() -> None:
    """A process that joins a Redis stream late knows nothing before its floor."""
    buf = EventBuffer(5)
    buf.set_floor("1700000000000-3")
    buf.append(ev("1700000000000-4"))
    buf.append(ev("1700000000001-0"))
    assert ids(buf.since("1700000000000-3")) == ["1700000000000-4", "1700000000001-0"]
    assert ids(buf.since("1700000000000-4")) == ["1700000000001-0"]
    assert buf.since("1700000000000-2") is None
    assert buf.since("1699999999999-9") is None


def test_buffer_answers_resync_for_an_id_it_cannot_read() -> None:
    buf = EventBuffer(5)
    buf.append(ev("1"))
    assert buf.since("not-an-id") is None
    assert buf.since("") is None


# --- event ids ---------------------------------------------------------------------------


def test_parse_event_id_orders_plain_and_stream_ids() -> None:
    assert parse_event_id("42") == (42, 0)
    assert parse_event_id("1700000000000-7") == (1700000000000, 7)
    # Numeric, not lexical: "10" comes after "9", and the sequence breaks ties of one millisecond.
    assert parse_event_id("9") < parse_event_id("10")
    assert parse_event_id("1700000000000-9") < parse_event_id("1700000000000-10")
    assert parse_event_id("1700000000000-10") < parse_event_id("1700000000001-0")
    assert parse_event_id("1700000000001") == parse_event_id("1700000000001-0")
    with pytest.raises(ValueError):
        parse_event_id("abc")


# --- MemoryBus ---------------------------------------------------------------------------


async def test_memory_bus_numbers_events_and_hands_them_to_listeners() -> None:
    bus = MemoryBus(100)
    start = bus.buffer.head_id  # what a client connecting now is told in "hello"
    heard: list[str] = []
    bus.listen(lambda e: heard.append(e.id))
    await bus.publish([ev(""), ev("")])
    await bus.publish([ev("")])
    assert len(set(heard)) == 3
    keys = [parse_event_id(i) for i in [start, *heard]]
    assert keys == sorted(keys), f"ids must increase: {[start, *heard]}"
    assert bus.buffer.head_id == heard[-1]
    assert ids(bus.buffer.since(start)) == heard, "a client that got hello misses nothing"
    assert ids(bus.buffer.since(heard[0])) == heard[1:]


async def test_after_a_restart_old_ids_get_resync_not_silence() -> None:
    """A single process restarted (deploy): browsers reconnect with ids of the old process."""
    before = MemoryBus(100)
    await before.publish([ev("") for _ in range(50)])
    old_id = before.buffer.head_id
    time.sleep(0.002)  # a restart takes longer than this

    after = MemoryBus(100)
    await after.publish([ev("") for _ in range(3)])  # happened before the tab reconnected
    assert after.buffer.since(old_id) is None, "the tab missed 3 events: it must reload"
    assert parse_event_id(after.buffer.head_id) > parse_event_id(old_id), (
        "ids continue upwards, so clients that drop ids <= their last do not drop new events"
    )


def test_an_id_newer_than_anything_known_gets_resync() -> None:
    """E.g. a tab that saw an event on another process this one has not received yet."""
    buf = EventBuffer(10)
    buf.append(ev("1700000000000-1"))
    assert buf.since("1700000000000-2") is None
    assert buf.since("1800000000000-0") is None
    assert ids(buf.since("1700000000000-1")) == []


async def test_a_failing_listener_does_not_stop_the_others() -> None:
    bus = MemoryBus(100)
    heard: list[str] = []

    def broken(_: RealtimeEvent) -> None:
        raise RuntimeError("boom")

    bus.listen(broken)
    bus.listen(lambda e: heard.append(e.id))
    await bus.publish([ev("")])
    assert heard == [bus.buffer.head_id]


# --- Hub ---------------------------------------------------------------------------------


def staff(
    user_id: int, *, workspace_id: int = WS, queues: frozenset[int] | None = None
) -> StaffConnection:
    return StaffConnection(
        Principal(
            user_id=user_id,
            workspace_id=workspace_id,
            role="agent" if queues is not None else "admin",
            name=f"User {user_id}",
            email=f"u{user_id}@example.com",
            locale="en",
            queue_ids=queues,
        )
    )


def visitor_conn(contact_id: int, inbox_id: int = 1) -> VisitorConnection:
    return VisitorConnection(Visitor(WS, inbox_id, contact_id, False))


def drain(conn: Connection) -> list[dict[str, Any]]:
    out = []
    while not conn.queue.empty():
        out.append(json.loads(conn.queue.get_nowait()))
    return out


def conversation_event(
    event_id: str,
    *,
    queue_id: int = FIRST_LINE,
    assignee_id: int | None = None,
    type_: str = "conversation.created",
) -> RealtimeEvent:
    full = {"id": 34, "locked": False, "contact": {"id": 12, "name": "Olena"}, "status": "queued"}
    locked = {"id": 34, "locked": True, "contact": None, "status": "queued"}
    return RealtimeEvent(
        type=type_,
        data=full,
        audience=Audience(
            workspace_id=WS,
            queue_id=queue_id,
            assignee_id=assignee_id,
            locked_data=locked,
            contact_id=12,
            inbox_id=1,
            contact_data={"conversation_id": 34, "status": "queued"},
        ),
        id=event_id,
    )


def message_event(
    event_id: str,
    *,
    private: bool = False,
    contact_id: int = 12,
    queue_id: int = FIRST_LINE,
    text: str = "Where is my loan?",
) -> RealtimeEvent:
    message = {"id": 101, "text": text, "private": private}
    return RealtimeEvent(
        type="message.created",
        data={"conversation_id": 34, "message": message},
        audience=Audience(
            workspace_id=WS,
            queue_id=queue_id,
            contact_id=None if private else contact_id,
            inbox_id=1,
            contact_data=None if private else {"id": 101, "text": text},
        ),
        id=event_id,
    )


def test_staff_of_another_workspace_get_nothing() -> None:
    hub = Hub()
    ours, theirs_admin = staff(1), staff(2, workspace_id=OTHER_WS)
    hub.add(ours)
    hub.add(theirs_admin)
    hub.dispatch(conversation_event("1"))
    hub.dispatch(message_event("2"))
    assert [f["type"] for f in drain(ours)] == ["conversation.created", "message.created"]
    assert drain(theirs_admin) == []
    assert hub.replay_for(theirs_admin, [conversation_event("1"), message_event("2")]) == []


def test_staff_who_cannot_see_the_queue_get_locked_conversations_and_no_messages() -> None:
    hub = Hub()
    member = staff(1, queues=frozenset({FIRST_LINE}))
    outsider = staff(2, queues=frozenset({TECH}))
    hub.add(member)
    hub.add(outsider)
    hub.dispatch(conversation_event("1"))
    hub.dispatch(message_event("2"))

    got = drain(member)
    assert [(f["id"], f["type"]) for f in got] == [
        ("1", "conversation.created"),
        ("2", "message.created"),
    ]
    assert got[0]["data"]["contact"] == {"id": 12, "name": "Olena"}

    locked = drain(outsider)
    assert locked == [
        {
            "id": "1",
            "type": "conversation.created",
            "data": {"id": 34, "locked": True, "contact": None, "status": "queued"},
        }
    ]
    # The same rule applies when the outsider reconnects and is replayed what they missed.
    replay = [
        json.loads(f)
        for f in hub.replay_for(outsider, [conversation_event("1"), message_event("2")])
    ]
    assert replay == locked


def test_the_assignee_sees_a_conversation_outside_their_queues() -> None:
    hub = Hub()
    assignee = staff(7, queues=frozenset({TECH}))
    hub.add(assignee)
    hub.dispatch(conversation_event("1", assignee_id=7))
    (frame,) = drain(assignee)
    assert frame["data"]["locked"] is False


def test_staff_events_without_a_locked_variant_reach_only_those_who_may_see() -> None:
    hub = Hub()
    member, outsider = staff(1, queues=frozenset({FIRST_LINE})), staff(2, queues=frozenset())
    hub.add(member)
    hub.add(outsider)
    timeline = RealtimeEvent(
        type="timeline.event",
        data={"conversation_id": 34, "event": {"type": "assigned"}},
        audience=Audience(workspace_id=WS, queue_id=FIRST_LINE),
        id="1",
    )
    hub.dispatch(timeline)
    assert [f["type"] for f in drain(member)] == ["timeline.event"]
    assert drain(outsider) == []


def test_visitors_get_only_their_own_public_messages() -> None:
    hub = Hub()
    olena, other = visitor_conn(12), visitor_conn(13)
    olena_other_inbox = visitor_conn(12, inbox_id=2)
    for c in (olena, other, olena_other_inbox):
        hub.add(c)
    hub.dispatch(message_event("1", text="Hello"))
    hub.dispatch(message_event("2", private=True, text="internal: check her file"))
    hub.dispatch(message_event("3", contact_id=13, text="Someone else's"))
    hub.dispatch(conversation_event("4", type_="conversation.updated"))

    got = drain(olena)
    assert got == [
        {"id": "1", "type": "message.created", "data": {"id": 101, "text": "Hello"}},
        {
            "id": "4",
            "type": "conversation.updated",
            "data": {"conversation_id": 34, "status": "queued"},
        },
    ]
    assert [f["data"]["text"] for f in drain(other)] == ["Someone else's"]
    assert drain(olena_other_inbox) == [], "the same contact in another inbox is another chat"

    replay = hub.replay_for(
        olena, [message_event("1", text="Hello"), message_event("2", private=True)]
    )
    assert [json.loads(f)["id"] for f in replay] == ["1"]


def test_visitors_never_get_staff_only_events() -> None:
    hub = Hub()
    olena = visitor_conn(12)
    hub.add(olena)
    hub.dispatch(
        RealtimeEvent(
            type="timeline.event",
            data={"conversation_id": 34, "event": {"type": "note"}},
            audience=Audience(workspace_id=WS, queue_id=FIRST_LINE),
            id="1",
        )
    )
    assert drain(olena) == []


def test_a_removed_socket_gets_nothing_more() -> None:
    hub = Hub()
    a, v = staff(1), visitor_conn(12)
    hub.add(a)
    hub.add(v)
    assert hub.size == 2
    hub.remove(a)
    hub.remove(v)
    assert hub.size == 0
    hub.dispatch(message_event("1"))
    assert drain(a) == [] and drain(v) == []


def test_a_socket_that_falls_behind_is_marked_for_resync() -> None:
    hub = Hub()
    slow = staff(1)
    hub.add(slow)
    for n in range(slow.queue.maxsize + 5):
        hub.dispatch(message_event(str(n + 1)))
    assert slow.queue.full()
    assert slow.overflowed
