"""Facebook Messenger: the survey as quick replies (NPS's eleven fit); a press is the answer."""

from __future__ import annotations

import httpx

from tests.channels.messenger import helpers as h
from tests.channels.messenger.fake_graph import FakeGraph
from tests.channels.messenger.test_send import messages
from tests.channels.telegram.helpers import conversation
from tests.conftest import Demo
from tests.surveys.support import answers, enable, handled_and_resolved, requests_of, run_jobs


async def test_quick_replies_carry_the_scores(
    demo: Demo, client: httpx.AsyncClient, fake_graph: FakeGraph
) -> None:
    inbox_id, key = await h.make_inbox(demo, fake_graph)
    await enable(client, inbox_id, kind="nps", texts={"en": {"thanks": "Merci!"}})
    assert (await h.post(client, key, h.page(h.text("m_in", "Hi")))).status_code == 200
    (first,) = await messages(inbox_id)
    conv_id = first.conversation_id
    await handled_and_resolved(client, demo, conv_id)
    await run_jobs()
    (req,) = await requests_of(conv_id)
    surveys = [s["message"] for s in fake_graph.sent if "quick_replies" in s.get("message", {})]
    (survey,) = surveys
    assert [q["payload"] for q in survey["quick_replies"]] == [
        f"survey:{req.id}:{n}" for n in range(0, 11)
    ]
    press = h.text("m_score", "9", quick_reply={"payload": f"survey:{req.id}:9"})
    assert (await h.post(client, key, h.page(press))).status_code == 200
    await run_jobs()
    (answer,) = await answers(client, kind="nps")
    assert (answer["score"], answer["channel"]) == (9, "messenger")
    assert (await conversation(conv_id)).status == "resolved"
    assert "Merci!" in [s.get("message", {}).get("text") for s in fake_graph.sent]
