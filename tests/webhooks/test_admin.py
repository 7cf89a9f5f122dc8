"""Managing webhooks: validation names the field, only administrators, the admin pages."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.conftest import Demo
from tests.webhooks.conftest import Receiver
from tests.webhooks.helpers import AGENT, customer_writes, deliveries, drain, login, subscribe
from tests.workspaces.test_admin_pages import login_admin, post_form


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "ftp://bank.example/hook", "event_types": ["message.created"]}, "url"),
        ({"url": "https://", "event_types": ["message.created"]}, "url"),
        ({"url": "   ", "event_types": ["message.created"]}, "url"),
        ({"url": "https://u:p@bank.example/h", "event_types": ["message.created"]}, "url"),
        ({"url": "https://bank.example:99999/h", "event_types": ["message.created"]}, "url"),
        ({"url": "https://bank.example/h", "event_types": []}, "event_types"),
        ({"url": "https://bank.example/h", "event_types": ["loan.approved"]}, "event_types"),
        ({"url": "https://bank.example/h" + "x" * 2000, "event_types": ["sla.breached"]}, "url"),
    ],
)
async def test_bad_subscriptions_are_refused_naming_the_field(
    client: httpx.AsyncClient, demo: Demo, body: dict[str, object], field: str
) -> None:
    admin = await login(client)
    r = await client.post("/api/v1/webhooks", json=body, headers=admin)
    assert r.status_code == 422, r.text
    assert field in [f["field"] for f in r.json()["error"]["fields"]]
    assert (await client.get("/api/v1/webhooks", headers=admin)).json()["items"] == []


async def test_internal_addresses_are_allowed(client: httpx.AsyncClient, demo: Demo) -> None:
    """Lenders run their compensation services on internal networks."""
    admin = await login(client)
    for url in ("http://10.0.3.7:8080/sla", "http://compensation.bank.local/hook"):
        await subscribe(client, admin, url, event_types=["sla.breached", "sla.warning"])


async def test_a_bad_update_changes_nothing(client: httpx.AsyncClient, demo: Demo) -> None:
    admin = await login(client)
    sub = await subscribe(client, admin, "https://crm.bank.example/hook")
    r = await client.patch(
        f"/api/v1/webhooks/{sub['id']}",
        json={"description": "new", "url": "mailto:x@y"},
        headers=admin,
    )
    assert r.status_code == 422
    again = (await client.get(f"/api/v1/webhooks/{sub['id']}", headers=admin)).json()
    assert again["description"] == "" and again["url"] == "https://crm.bank.example/hook"


async def test_only_administrators_manage_webhooks(client: httpx.AsyncClient, demo: Demo) -> None:
    admin = await login(client)
    sub = await subscribe(client, admin, "https://crm.bank.example/hook")
    agent = await login(client, AGENT)
    assert (await client.get("/api/v1/webhooks", headers=agent)).status_code == 403
    r = await client.post(
        "/api/v1/webhooks",
        json={"url": "https://evil.example/", "event_types": ["message.created"]},
        headers=agent,
    )
    assert r.status_code == 403
    assert (await client.get(f"/api/v1/webhooks/{sub['id']}", headers=agent)).status_code == 403
    assert (await client.delete(f"/api/v1/webhooks/{sub['id']}", headers=admin)).status_code == 204
    assert (await client.get(f"/api/v1/webhooks/{sub['id']}", headers=admin)).status_code == 404


async def test_admin_pages_create_test_and_show_the_log(
    client: httpx.AsyncClient, demo: Demo, receiver: Receiver
) -> None:
    csrf = await login_admin(client)
    page = await client.get("/admin/webhooks")
    assert page.status_code == 200 and "New webhook" in page.text

    bad = await post_form(
        client, "/admin/webhooks", csrf, {"url": "javascript:alert(1)", "event_types": "x"}
    )
    assert bad.status_code == 422
    assert "Must start with http:// or https://." in bad.text
    assert 'aria-invalid="true"' in bad.text

    made = await post_form(
        client,
        "/admin/webhooks",
        csrf,
        {
            "url": receiver.url,
            "description": "<b>Compensation</b>",
            "event_types": ["sla.breached", "conversation.resolved"],
            "enabled": "1",
        },
    )
    assert made.status_code == 303
    detail_url = made.headers["location"].split("?")[0]
    detail = await client.get(made.headers["location"])
    assert "The webhook was created" in detail.text
    assert "&lt;b&gt;Compensation&lt;/b&gt;" in detail.text
    found = re.search(r'data-testid="webhook-secret">([^<]+)<', detail.text)
    assert found
    receiver.secret = found.group(1)

    sent = await post_form(client, f"{detail_url}/test", csrf, {})
    assert sent.status_code == 303
    await drain()
    (got,) = receiver.got
    assert got.signature_ok and got.body["type"] == "webhook.test"
    log = await client.get(detail_url)
    assert "webhook.test" in log.text and "Delivered" in log.text


async def test_admin_page_retry_button_resends_a_failed_delivery(
    client: httpx.AsyncClient, demo: Demo, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    from omniline.webhooks import service

    monkeypatch.setattr(service, "MAX_ATTEMPTS", 1)
    admin = await login(client)
    sub = await subscribe(client, admin, receiver.url, event_types=["conversation.resolved"])
    receiver.secret = sub["secret"]
    receiver.script = [500]
    conv_id = await customer_writes(client)
    await client.post(f"/api/v1/conversations/{conv_id}/resolve", headers=admin)
    await drain()
    (d,) = await deliveries()
    assert d.status == "failed"

    csrf = await login_admin(client)
    page = await client.get(f"/admin/webhooks/{sub['id']}")
    assert f"/admin/webhooks/deliveries/{d.id}/retry" in page.text
    assert "HTTP 500" in page.text
    r = await post_form(client, f"/admin/webhooks/deliveries/{d.id}/retry", csrf, {})
    assert r.status_code == 303 and "done=retried" in r.headers["location"]
    await drain()
    (d,) = await deliveries()
    assert d.status == "delivered"
    again = await post_form(client, f"/admin/webhooks/deliveries/{d.id}/retry", csrf, {})
    assert "done=not_failed" in again.headers["location"]


async def test_agents_do_not_get_the_admin_pages(client: httpx.AsyncClient, demo: Demo) -> None:
    from tests.workspaces.test_admin_pages import login as page_login

    await page_login(client, "agent@demo.omniline", "demo-agent")
    r = await client.get("/admin/webhooks")
    assert r.status_code == 403
