"""VK: the survey as a keyboard; a pressed key is the answer and the case stays resolved."""

from __future__ import annotations

import httpx
import orjson

from tests.channels.vk import helpers as h
from tests.channels.vk.fake_vk import FakeVk
from tests.conftest import Demo
from tests.surveys.support import answers, enable, handled_and_resolved, requests_of, run_jobs


async def test_a_keyboard_of_scores(demo: Demo, client: httpx.AsyncClient, fake_vk: FakeVk) -> None:
    inbox_id, key = await h.make_inbox(demo, fake_vk)
    await enable(client, inbox_id)
    assert (await h.post(client, key, h.event(text="Hi"))).status_code == 200
    (first,) = await h.messages(inbox_id)
    conv_id = first.conversation_id
    await handled_and_resolved(client, demo, conv_id)
    await run_jobs()
    (req,) = await requests_of(conv_id)
    boards = [orjson.loads(s["keyboard"]) for s in fake_vk.sent if "keyboard" in s]
    (board,) = boards
    actions = [row[0]["action"] for row in board["buttons"]]
    assert [orjson.loads(a["payload"])["payload"] for a in actions] == [
        f"survey:{req.id}:{n}" for n in range(1, 6)
    ]
    press = h.event(
        text="5",
        payload=orjson.dumps({"payload": f"survey:{req.id}:5"}).decode(),
        id=21,
        conversation_message_id=21,
    )
    assert (await h.post(client, key, press)).status_code == 200
    (answer,) = await answers(client)
    assert (answer["score"], answer["channel"]) == (5, "vk")
    assert (await h.conversation(conv_id)).status == "resolved"
