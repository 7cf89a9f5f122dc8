"""The admin settings API, the send API for other occasions, and who may read answers."""

from __future__ import annotations

import httpx

from tests.conftest import Demo, bearer
from tests.surveys.support import (
    AGENT,
    SUPERVISOR,
    enable,
    handled_and_resolved,
    headers,
    requests_of,
    run_jobs,
    widget_chat,
)


async def test_settings_round_trip_and_defaults(client: httpx.AsyncClient, demo: Demo) -> None:
    h = await headers(client)
    r = await client.get(f"/api/v1/surveys/settings/{demo.inbox_id}", headers=h)
    assert r.status_code == 200
    assert (r.json()["enabled"], r.json()["kind"]) == (False, "csat")
    saved = await enable(
        client,
        demo.inbox_id,
        kind="nps",
        delay_minutes=30,
        expiry_hours=24,
        texts={"ru": {"question": "Порекомендуете нас?", "thanks": " "}},
    )
    assert saved["texts"] == {"ru": {"question": "Порекомендуете нас?"}}  # blanks dropped
    r = await client.get("/api/v1/surveys/settings", headers=h)
    mine = [s for s in r.json()["items"] if s["inbox_id"] == demo.inbox_id]
    assert mine == [saved]


async def test_settings_refuse_bad_input_and_non_admins(
    client: httpx.AsyncClient, demo: Demo
) -> None:
    h = await headers(client)
    url = f"/api/v1/surveys/settings/{demo.inbox_id}"
    for bad in (
        {"kind": "stars"},
        {"delay_minutes": -1},
        {"expiry_hours": 0},
        {"expiry_hours": 10**12},
        {"texts": {"not a language": {"question": "x"}}},
        {"enabled": "yes"},
    ):
        r = await client.put(url, json=bad, headers=h)
        assert r.status_code == 422, (bad, r.text)
    r = await client.put("/api/v1/surveys/settings/999999", json={}, headers=h)
    assert r.status_code == 404
    for who in (AGENT, SUPERVISOR):
        r = await client.put(url, json={"enabled": True}, headers=await headers(client, who))
        assert r.status_code == 403
    r = await client.get("/api/v1/surveys/answers", headers=await headers(client, AGENT))
    assert r.status_code == 403
    r = await client.get("/api/v1/surveys/answers?limit=1000", headers=h)
    assert r.status_code == 422


async def test_delay_holds_the_survey_back(client: httpx.AsyncClient, demo: Demo) -> None:
    await enable(client, demo.inbox_id, delay_minutes=60)
    token, conv_id = await widget_chat(client)
    await handled_and_resolved(client, demo, conv_id)
    await run_jobs()
    (req,) = await requests_of(conv_id)
    assert req.status == "pending"  # its job runs in an hour
    r = await client.get("/api/v1/widget/messages", headers=bearer(token))
    assert not [m for m in r.json()["items"] if m.get("survey")]


async def test_send_for_another_occasion(client: httpx.AsyncClient, demo: Demo) -> None:
    await enable(client, demo.inbox_id)
    token, conv_id = await widget_chat(client)
    await handled_and_resolved(client, demo, conv_id)
    await run_jobs()
    h = await headers(client)
    r = await client.get(f"/api/v1/conversations/{conv_id}", headers=h)
    contact_id = r.json()["contact"]["id"]
    body = {"trigger": "branch_visit", "contact_id": contact_id, "agent_id": demo.users["agent2"]}
    r = await client.post("/api/v1/surveys/send", json=body, headers=h)
    assert r.status_code == 201, r.text
    sent = r.json()
    assert (sent["trigger"], sent["conversation_id"], sent["agent_id"]) == (
        "branch_visit",
        conv_id,
        demo.users["agent2"],
    )
    r = await client.post("/api/v1/surveys/send", json=body, headers=h)
    assert r.status_code == 409  # one survey per occasion
    await run_jobs()
    r = await client.get("/api/v1/widget/messages", headers=bearer(token))
    surveys = [m["survey"] for m in r.json()["items"] if m.get("survey")]
    assert len(surveys) == 2
    branch = [s for s in surveys if s["request_id"] == sent["id"]]
    answer = {"request_id": sent["id"], "score": 5}
    assert branch
    r = await client.post("/api/v1/widget/survey", json=answer, headers=bearer(token))
    assert r.status_code == 200, r.text
    r = await client.get(
        "/api/v1/surveys/answers",
        params={"agent_id": demo.users["agent2"]},
        headers=await headers(client, SUPERVISOR),
    )
    (row,) = r.json()["items"]
    assert (row["trigger"], row["score"]) == ("branch_visit", 5)

    for bad in (
        {"trigger": "Branch Visit!", "contact_id": contact_id},
        {"trigger": "x"},
        {"trigger": "x", "contact_id": 2**60},
    ):
        r = await client.post("/api/v1/surveys/send", json=bad, headers=h)
        assert r.status_code == 422, (bad, r.text)
    r = await client.post(
        "/api/v1/surveys/send",
        json={"trigger": "x", "contact_id": contact_id},
        headers=await headers(client, AGENT),
    )
    assert r.status_code == 403


async def test_a_phone_conversation_is_a_conflict_not_an_invalid_request(
    client: httpx.AsyncClient, demo: Demo
) -> None:
    """A survey to a phone conversation answered 422 although the request was schema-valid
    (schemathesis ST202): it is the stored conversation that cannot take one, a 409."""
    from sqlalchemy import update

    from omniline import db
    from omniline.conversations.models import Conversation

    await enable(client, demo.inbox_id)
    _, conv_id = await widget_chat(client)
    async with db.unit_of_work() as session:
        await session.execute(
            update(Conversation).where(Conversation.id == conv_id).values(channel="voice")
        )
    h = await headers(client)
    r = await client.post(
        "/api/v1/surveys/send", json={"trigger": "call", "conversation_id": conv_id}, headers=h
    )
    assert r.status_code == 409, r.text
    assert r.json()["error"]["fields"][0]["field"] == "conversation_id"
