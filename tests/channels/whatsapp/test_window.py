"""The 24-hour window as agents meet it, and the templates that reopen a chat."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from tests.channels.whatsapp.fake_graph import FakeGraph
from tests.channels.whatsapp.helpers import (
    WaInbox,
    agent,
    conversation_of,
    create_inbox,
    deliver,
    incoming,
    message_row,
    run_jobs,
    text,
)
from tests.conftest import Demo, visitor

DAY = 24 * 3600


async def customer_wrote(client: httpx.AsyncClient, wa: WaInbox, ago: float) -> int:
    await deliver(client, wa, incoming(text(f"wamid.W{int(ago)}", "Hi", ago=ago)))
    return (await conversation_of(wa)).id


def template_url(conv_id: int) -> str:
    return f"/api/v1/whatsapp/conversations/{conv_id}/template"


async def test_inside_the_window_free_text_is_allowed(
    client: httpx.AsyncClient, wa: WaInbox
) -> None:
    conv_id = await customer_wrote(client, wa, ago=DAY - 600)
    headers = await agent(client)
    detail = (await client.get(f"/api/v1/conversations/{conv_id}", headers=headers)).json()
    assert detail["reply_blocked"] is None
    r = await client.post(
        f"/api/v1/conversations/{conv_id}/messages", json={"text": "Hi!"}, headers=headers
    )
    assert r.status_code == 201


async def test_outside_the_window_free_text_is_refused_with_the_reason(
    client: httpx.AsyncClient, wa: WaInbox, graph: FakeGraph
) -> None:
    conv_id = await customer_wrote(client, wa, ago=DAY + 3600)
    headers = await agent(client)
    detail = (await client.get(f"/api/v1/conversations/{conv_id}", headers=headers)).json()
    reason = detail["reply_blocked"]
    assert reason and "more than 24 hours ago" in reason and "template" in reason
    when = datetime.now(UTC) - timedelta(seconds=DAY + 3600)
    assert when.strftime("%Y-%m-%d") in reason

    r = await client.post(
        f"/api/v1/conversations/{conv_id}/messages", json={"text": "Hello?"}, headers=headers
    )
    assert r.status_code == 409
    assert r.json()["error"]["message"] == reason
    # A private note is not a message to the customer: still allowed.
    note = await client.post(
        f"/api/v1/conversations/{conv_id}/messages",
        json={"text": "called her instead", "private": True},
        headers=headers,
    )
    assert note.status_code == 201
    await run_jobs()
    assert graph.sent == []


async def test_a_template_reaches_the_customer_outside_the_window(
    client: httpx.AsyncClient, wa: WaInbox, graph: FakeGraph
) -> None:
    conv_id = await customer_wrote(client, wa, ago=3 * DAY)
    headers = await agent(client)
    params = ["Taras", "1,200 UAH", "25 May"]
    r = await client.post(
        template_url(conv_id),
        json={"name": "payment_reminder", "language": "en_US", "params": params},
        headers=headers,
    )
    assert r.status_code == 201, r.text
    sent = r.json()
    assert sent["text"] == "Hello Taras, your payment of 1,200 UAH is due on 25 May."
    assert sent["meta"]["template"] == {
        "name": "payment_reminder",
        "language": "en_US",
        "params": params,
    }
    await run_jobs()
    (body,) = graph.sent
    assert body["type"] == "template"
    assert body["template"] == {
        "name": "payment_reminder",
        "language": {"code": "en_US"},
        "components": [
            {"type": "body", "parameters": [{"type": "text", "text": p} for p in params]}
        ],
    }
    assert (await message_row(sent["id"])).delivery_status == "sent"
    # The window stays closed until the customer answers.
    detail = (await client.get(f"/api/v1/conversations/{conv_id}", headers=headers)).json()
    assert detail["reply_blocked"]
    await deliver(client, wa, incoming(text("wamid.BACK", "Thanks, paying today")))
    detail = (await client.get(f"/api/v1/conversations/{conv_id}", headers=headers)).json()
    assert detail["reply_blocked"] is None


async def test_named_and_parameterless_templates(
    client: httpx.AsyncClient, wa: WaInbox, graph: FakeGraph
) -> None:
    conv_id = await customer_wrote(client, wa, ago=2 * DAY)
    headers = await agent(client)
    named = {"name": "order_named", "language": "en_US", "params": ["Taras", "A-17"]}
    assert (
        await client.post(template_url(conv_id), json=named, headers=headers)
    ).status_code == 201
    plain = {"name": "follow_up", "language": "uk"}
    r = await client.post(template_url(conv_id), json=plain, headers=headers)
    assert r.status_code == 201
    assert r.json()["text"] == "Вітаємо! Чи можемо ще чимось допомогти?"
    await run_jobs()
    first, second = graph.sent
    parameters = first["template"]["components"][0]["parameters"]
    assert parameters == [
        {"type": "text", "text": "Taras", "parameter_name": "customer"},
        {"type": "text", "text": "A-17", "parameter_name": "order"},
    ]
    assert second["template"] == {"name": "follow_up", "language": {"code": "uk"}}


async def test_templates_list_shows_only_approved_text_templates(
    client: httpx.AsyncClient, wa: WaInbox
) -> None:
    conv_id = await customer_wrote(client, wa, ago=60)
    r = await client.get(
        f"/api/v1/whatsapp/conversations/{conv_id}/templates", headers=await agent(client)
    )
    assert r.status_code == 200
    assert r.json()["items"] == [
        {
            "name": "follow_up",
            "language": "uk",
            "body": "Вітаємо! Чи можемо ще чимось допомогти?",
            "params": 0,
        },
        {
            "name": "order_named",
            "language": "en_US",
            "body": "Dear {{customer}}, your order {{order}}.",
            "params": 2,
        },
        {
            "name": "payment_reminder",
            "language": "en_US",
            "body": "Hello {{1}}, your payment of {{2}} is due on {{3}}.",
            "params": 3,
        },
    ]


async def test_template_requests_are_validated(client: httpx.AsyncClient, wa: WaInbox) -> None:
    conv_id = await customer_wrote(client, wa, ago=2 * DAY)
    headers = await agent(client)
    # No approved template by that name and language: 404 naming the field.
    due = "payment_reminder"
    cases = [
        ({"name": "no_such", "language": "en_US"}, "name", 404),
        ({"name": "payment_reminder", "language": "uk", "params": ["a", "b", "c"]}, "name", 404),
        ({"name": "new_offer", "language": "en_US", "params": ["a"]}, "name", 404),  # pending
        ({"name": "card_photo", "language": "en_US"}, "name", 404),  # needs an image header
        ({"name": due, "language": "en_US", "params": ["a"]}, "params", 422),
        ({"name": due, "language": "en_US", "params": ["a", " ", "c"]}, "params", 422),
        ({"name": due, "language": "en_US", "params": ["a", "b\nc", "d"]}, "params", 422),
        ({"name": due, "language": "en_US", "params": "abc"}, "params", 422),
        ({"language": "en_US"}, "name", 422),
    ]  # fmt: skip
    for body, field, status in cases:
        r = await client.post(template_url(conv_id), json=body, headers=headers)
        assert r.status_code == status, (body, r.text)
        assert r.json()["error"]["fields"][0]["field"] == field, body
    bad_json = await client.post(
        template_url(conv_id),
        content=b"{not json",
        headers={**headers, "Content-Type": "application/json"},
    )
    assert bad_json.status_code == 400
    messages = await client.get(f"/api/v1/conversations/{conv_id}/messages", headers=headers)
    assert len(messages.json()["items"]) == 1  # nothing was added


async def test_templates_follow_conversation_access(
    client: httpx.AsyncClient, demo: Demo, graph: FakeGraph
) -> None:
    tech = await create_inbox(demo, graph, queue="Tech support")
    conv_id = await customer_wrote(client, tech, ago=2 * DAY)
    body = {"name": "follow_up", "language": "uk"}
    # Anna is in First line only: the Tech support conversation does not exist for her.
    anna = await agent(client)
    assert (
        await client.get(f"/api/v1/whatsapp/conversations/{conv_id}/templates", headers=anna)
    ).status_code == 404
    assert (await client.post(template_url(conv_id), json=body, headers=anna)).status_code == 404
    # The supervisor owns the team's queues.
    sofia = await agent(client, "supervisor")
    ok = await client.get(f"/api/v1/whatsapp/conversations/{conv_id}/templates", headers=sofia)
    assert ok.status_code == 200 and ok.json()["items"]
    assert (await client.post(template_url(conv_id), json=body, headers=sofia)).status_code == 201
    assert (
        await client.get(f"/api/v1/whatsapp/conversations/{conv_id}/templates")
    ).status_code == 401


async def test_templates_of_a_non_whatsapp_conversation_do_not_exist(
    client: httpx.AsyncClient, demo: Demo
) -> None:
    token = await visitor(client)
    r = await client.post(
        "/api/v1/widget/messages", json={"text": "hi"}, headers={"Authorization": f"Bearer {token}"}
    )
    conv_id = r.json()["conversation_id"]
    headers = await agent(client)
    r = await client.get(f"/api/v1/whatsapp/conversations/{conv_id}/templates", headers=headers)
    assert r.status_code == 404
    r = await client.post(
        template_url(conv_id), json={"name": "follow_up", "language": "uk"}, headers=headers
    )
    assert r.status_code == 404
    assert (
        await client.get("/api/v1/whatsapp/conversations/999999/templates", headers=headers)
    ).status_code == 404


async def test_a_retried_template_send_goes_out_once(
    client: httpx.AsyncClient, wa: WaInbox, graph: FakeGraph
) -> None:
    """An agent's browser that lost the answer sends the template again with the same
    Idempotency-Key: the customer gets one template (a paid message), the retry the same
    message back; the same key for another template is a conflict."""
    conv_id = await customer_wrote(client, wa, ago=3 * DAY)
    headers = {**await agent(client), "Idempotency-Key": "tpl-7f3a"}
    body = {"name": "payment_reminder", "language": "en_US", "params": ["Taras", "1", "2"]}
    first = await client.post(template_url(conv_id), json=body, headers=headers)
    again = await client.post(template_url(conv_id), json=body, headers=headers)
    assert (first.status_code, again.status_code) == (201, 200), again.text
    assert again.json()["id"] == first.json()["id"]
    other = {**body, "params": ["Taras", "1", "3"]}
    assert (
        await client.post(template_url(conv_id), json=other, headers=headers)
    ).status_code == 409
    await run_jobs()
    assert len(graph.sent) == 1
