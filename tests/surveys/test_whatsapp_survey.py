"""WhatsApp: CSAT's five scores as a list; the chosen row is the answer."""

from __future__ import annotations

import httpx

from tests.channels.whatsapp.fake_graph import FakeGraph
from tests.channels.whatsapp.helpers import (
    WaInbox,
    conversation_of,
    deliver,
    incoming,
    message,
    text,
)
from tests.conftest import Demo
from tests.surveys.support import answers, enable, handled_and_resolved, requests_of, run_jobs


async def test_a_list_of_scores_and_the_chosen_row(
    client: httpx.AsyncClient, demo: Demo, wa: WaInbox, graph: FakeGraph
) -> None:
    await enable(client, wa.id)
    await deliver(client, wa, incoming(text("wamid.S1", "My payment is missing")))
    conv = await conversation_of(wa)
    await handled_and_resolved(client, demo, conv.id)
    await run_jobs()
    (req,) = await requests_of(conv.id)
    lists = [s for s in graph.sent if s.get("type") == "interactive"]
    (survey,) = lists
    assert survey["interactive"]["type"] == "list"
    rows = survey["interactive"]["action"]["sections"][0]["rows"]
    assert [r["id"] for r in rows] == [f"survey:{req.id}:{n}" for n in range(1, 6)]

    row = {"type": "list_reply", "list_reply": {"id": f"survey:{req.id}:3", "title": "3"}}
    await deliver(client, wa, incoming(message("interactive", "wamid.S2", interactive=row)))
    (answer,) = await answers(client)
    assert (answer["score"], answer["channel"]) == (3, "whatsapp")
    assert (await conversation_of(wa)).status == "resolved"
