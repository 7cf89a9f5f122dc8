""" "Call me back" from the web chat: the visitor's number joins the callback list of the
lender's phone line; the button only shows where there is a phone line."""

from __future__ import annotations

import httpx

from omniline import db
from omniline.inboxes import service as inboxes
from tests.channels.voice.support import callbacks
from tests.conftest import Demo, visitor


async def _phone_line(demo: Demo) -> int:
    async with db.unit_of_work() as session:
        inbox = await inboxes.do_create_inbox(
            session,
            demo.workspace_id,
            channel="voice",
            name="Hotline",
            key="hotline",
            default_queue_id=demo.queues["First line"],
            settings={
                "provider": "ari",
                "ari_url": "http://127.0.0.1:9",
                "ari_user": "x",
                "region": "UA",
                "callback_hours": "00:00-23:59",
            },
        )
        return inbox.id


async def test_a_visitor_books_a_callback(client: httpx.AsyncClient, demo: Demo) -> None:
    token = await visitor(client)
    h = {"Authorization": f"Bearer {token}"}
    frame = await client.get("/widget/frame", params={"key": demo.inbox_key})
    assert 'data-testid="widget-callback-open"' not in frame.text  # no phone line yet
    r = await client.post("/api/v1/widget/callback", json={"phone": "050 123 45 67"}, headers=h)
    assert r.status_code == 404
    line = await _phone_line(demo)
    frame = await client.get("/widget/frame", params={"key": demo.inbox_key})
    assert 'data-testid="widget-callback-open"' in frame.text
    r = await client.post("/api/v1/widget/callback", json={"phone": "050 123 45 67"}, headers=h)
    assert r.status_code == 201, r.text
    assert r.json()["number"] == "+380501234567" and r.json()["status"] == "pending"
    (cb,) = await callbacks()
    assert (
        cb.inbox_id == line and cb.reason == "widget" and cb.queue_id == demo.queues["First line"]
    )
    # Asking again books nothing new.
    again = await client.post("/api/v1/widget/callback", json={"phone": "+380501234567"}, headers=h)
    assert again.status_code == 201 and len(await callbacks()) == 1
    for bad in ({"phone": "call me"}, {"phone": "12"}, {}, {"phone": 380501234567}):
        r = await client.post("/api/v1/widget/callback", json=bad, headers=h)
        assert r.status_code == 422, (bad, r.text)
    r = await client.post("/api/v1/widget/callback", json={"phone": "+999 123 456"}, headers=h)
    assert r.status_code == 422  # not a number we can dial
    anonymous = await client.post("/api/v1/widget/callback", json={"phone": "0501234567"})
    assert anonymous.status_code == 401
