"""The web chat's survey: sent after an agent resolves, answered with a score and a comment."""

from __future__ import annotations

import httpx

from tests.conftest import Demo, bearer
from tests.surveys.support import (
    AGENT,
    answers,
    enable,
    handled_and_resolved,
    headers,
    requests_of,
    run_jobs,
    widget_chat,
)


async def _survey_message(client: httpx.AsyncClient, token: str) -> dict[str, object] | None:
    r = await client.get("/api/v1/widget/messages", headers=bearer(token))
    assert r.status_code == 200, r.text
    found = [m["survey"] for m in r.json()["items"] if m.get("survey")]
    assert len(found) <= 1
    return found[0] if found else None


async def test_resolve_sends_the_survey_and_the_answer_reaches_the_results(
    client: httpx.AsyncClient, demo: Demo
) -> None:
    await enable(client, demo.inbox_id, texts={"en": {"question": "Rate Anna, please"}})
    token, conv_id = await widget_chat(client)
    await handled_and_resolved(client, demo, conv_id)
    await run_jobs()
    survey = await _survey_message(client, token)
    assert survey is not None
    assert (survey["kind"], survey["low"], survey["high"]) == ("csat", 1, 5)
    r = await client.get("/api/v1/widget/messages", headers=bearer(token))
    assert "Rate Anna, please" in [m["text"] for m in r.json()["items"]]

    body = {"request_id": survey["request_id"], "score": 4}
    r = await client.post("/api/v1/widget/survey", json=body, headers=bearer(token))
    assert r.status_code == 200, r.text
    # One answer: a second score is refused, the first one stays.
    again = {"request_id": survey["request_id"], "score": 1}
    r = await client.post("/api/v1/widget/survey", json=again, headers=bearer(token))
    assert r.status_code == 409
    comment = {"request_id": survey["request_id"], "comment": "Quick and <b>kind</b>"}
    r = await client.post("/api/v1/widget/survey", json=comment, headers=bearer(token))
    assert r.status_code == 200, r.text
    r = await client.post("/api/v1/widget/survey", json=comment, headers=bearer(token))
    assert r.status_code == 409  # the comment is added once

    (answer,) = await answers(client)
    assert answer["score"] == 4
    assert answer["comment"] == "Quick and <b>kind</b>"
    assert answer["agent_id"] == demo.users["agent"]
    assert answer["conversation_id"] == conv_id
    assert answer["channel"] == "webchat"
    assert answer["inbox_id"] == demo.inbox_id
    assert await answers(client, agent_id=demo.users["agent2"]) == []
    assert await answers(client, kind="nps") == []


async def test_re_resolving_sends_no_second_survey(client: httpx.AsyncClient, demo: Demo) -> None:
    await enable(client, demo.inbox_id)
    token, conv_id = await widget_chat(client)
    await handled_and_resolved(client, demo, conv_id)
    ah = await headers(client, AGENT)
    r = await client.post(f"/api/v1/conversations/{conv_id}/reopen", headers=ah)
    assert r.status_code == 200, r.text
    r = await client.post(f"/api/v1/conversations/{conv_id}/resolve", headers=ah)
    assert r.status_code == 200, r.text
    await run_jobs()
    assert len(await requests_of(conv_id)) == 1
    r = await client.get("/api/v1/widget/messages", headers=bearer(token))
    assert len([m for m in r.json()["items"] if m.get("survey")]) == 1


async def test_no_survey_when_disabled(client: httpx.AsyncClient, demo: Demo) -> None:
    token, conv_id = await widget_chat(client)
    await handled_and_resolved(client, demo, conv_id)
    await run_jobs()
    assert await requests_of(conv_id) == []
    assert await _survey_message(client, token) is None


async def test_nps_scale_and_bounds(client: httpx.AsyncClient, demo: Demo) -> None:
    await enable(client, demo.inbox_id, kind="nps")
    token, conv_id = await widget_chat(client)
    await handled_and_resolved(client, demo, conv_id)
    await run_jobs()
    survey = await _survey_message(client, token)
    assert survey is not None and (survey["low"], survey["high"]) == (0, 10)
    for bad in (11, -1):
        body = {"request_id": survey["request_id"], "score": bad}
        r = await client.post("/api/v1/widget/survey", json=body, headers=bearer(token))
        assert r.status_code == 422
    body = {"request_id": survey["request_id"], "score": 0}
    r = await client.post("/api/v1/widget/survey", json=body, headers=bearer(token))
    assert r.status_code == 200, r.text
    (answer,) = await answers(client, kind="nps")
    assert answer["score"] == 0


async def test_another_visitor_cannot_answer(client: httpx.AsyncClient, demo: Demo) -> None:
    await enable(client, demo.inbox_id)
    token, conv_id = await widget_chat(client)
    await handled_and_resolved(client, demo, conv_id)
    await run_jobs()
    survey = await _survey_message(client, token)
    assert survey is not None
    other, _ = await widget_chat(client, "hello")
    body = {"request_id": survey["request_id"], "score": 5}
    r = await client.post("/api/v1/widget/survey", json=body, headers=bearer(other))
    assert r.status_code == 404
    assert await answers(client) == []


async def test_a_reopen_before_the_sending_holds_it_until_resolved_again(
    client: httpx.AsyncClient, demo: Demo
) -> None:
    await enable(client, demo.inbox_id)
    token, conv_id = await widget_chat(client)
    await handled_and_resolved(client, demo, conv_id)
    # Reopened before the survey job ran: no survey in the middle of the conversation.
    ah = await headers(client, AGENT)
    r = await client.post(f"/api/v1/conversations/{conv_id}/reopen", headers=ah)
    assert r.status_code == 200, r.text
    await run_jobs()
    assert await _survey_message(client, token) is None
    r = await client.post(f"/api/v1/conversations/{conv_id}/resolve", headers=ah)
    assert r.status_code == 200, r.text
    await run_jobs()
    assert await _survey_message(client, token) is not None
    assert len(await requests_of(conv_id)) == 1
