"""The admin pages of routing: list, editor (plain forms), toggles, order and dry run."""

from __future__ import annotations

import re

import httpx
import pytest

from omniline import db
from omniline.routing import repository
from tests.conftest import Demo
from tests.routing.helpers import bank
from tests.workspaces.test_admin_pages import login, login_admin, post_form

XSS = "<script>alert(1)</script>"


@pytest.fixture
async def queues(demo: Demo) -> dict[str, int]:
    async with db.unit_of_work() as session:
        return await bank(session, demo)


def clients_form(queues: dict[str, int], **extra: object) -> dict[str, object]:
    return {
        "name": "Clients",
        "priority": "50",
        "enabled": "on",
        "rows": "3",
        "c0_type": "attribute",
        "c0_key": "client",
        "c0_operator": "eq",
        "c0_values": "true",
        "c1_type": "keywords",
        "c1_values": "кредит, loan",
        "c2_type": "",
        "queue_id": str(queues["Business assistants"]),
        "tags": "client, VIP",
        **extra,
    }


async def rules_of(demo: Demo) -> list[dict[str, object]]:
    async with db.sessionmaker()() as session:
        return [
            {"name": r.name, "enabled": r.enabled, "conditions": r.conditions, "actions": r.actions}
            for r in await repository.rules(session, demo.workspace_id)
        ]


async def test_agent_gets_403_and_the_tab_is_shown_to_admins(
    client: httpx.AsyncClient, demo: Demo
) -> None:
    await login(client, "agent@demo.omniline", "demo-agent")
    for path in ("/admin/routing", "/admin/routing/new", "/admin/routing/dry-run"):
        r = await client.get(path)
        assert r.status_code == 403, path
        assert r.headers["content-type"].startswith("text/html")
    client.cookies.clear()
    await login_admin(client)
    page = await client.get("/admin")
    assert 'href="/admin/routing"' in page.text
    r = await client.get("/admin/routing")
    assert r.status_code == 200
    assert "No routing rules yet" in r.text


async def test_create_a_rule_with_the_plain_form(
    client: httpx.AsyncClient, demo: Demo, queues: dict[str, int]
) -> None:
    csrf = await login_admin(client)
    form = await client.get("/admin/routing/new")
    assert form.status_code == 200 and 'name="c0_type"' in form.text
    r = await post_form(client, "/admin/routing/new", csrf, clients_form(queues))
    assert r.status_code == 303, r.text
    assert r.headers["location"] == "/admin/routing?done=created"
    (rule,) = await rules_of(demo)
    assert rule["conditions"] == [
        {"type": "attribute", "key": "client", "operator": "eq", "value": True},
        {"type": "keywords", "keywords": ["кредит", "loan"]},
    ]
    assert rule["actions"]["tags"] == ["client", "vip"]  # type: ignore[index]
    listing = await client.get("/admin/routing?done=created")
    assert "The rule was created." in listing.text
    assert "attribute client eq true" in listing.text and "Business assistants" in listing.text


async def test_refused_form_rerenders_with_the_message_and_saves_nothing(
    client: httpx.AsyncClient, demo: Demo, queues: dict[str, int]
) -> None:
    csrf = await login_admin(client)
    bad = clients_form(queues, name=XSS, c1_values="", action_priority="300")
    r = await post_form(client, "/admin/routing/new", csrf, bad)
    assert r.status_code == 422
    assert "Please correct the highlighted fields." in r.text
    assert "keywords: must list at least one value" in r.text
    assert XSS not in r.text and "&lt;script&gt;" in r.text  # the name is kept, escaped
    assert await rules_of(demo) == []
    r = await post_form(
        client, "/admin/routing/new", csrf, clients_form(queues, c0_type="", c1_type="")
    )
    assert r.status_code == 422 and "Add at least one condition." in r.text
    r = await post_form(
        client, "/admin/routing/new", csrf, clients_form(queues, queue_id="", tags="")
    )
    assert r.status_code == 422 and "Choose at least one action" in r.text
    r = await post_form(client, "/admin/routing/new", csrf, clients_form(queues, c0_type="event",
                        c0_key="contract_signed", c0_days="-2"))  # fmt: skip
    assert r.status_code == 422 and "within_days" in r.text
    assert await rules_of(demo) == []


async def test_add_a_condition_row_without_javascript(
    client: httpx.AsyncClient, demo: Demo, queues: dict[str, int]
) -> None:
    csrf = await login_admin(client)
    r = await post_form(client, "/admin/routing/new", csrf, clients_form(queues, add_row="1"))
    assert r.status_code == 200
    # The two typed rows are kept, with three blank ones after them.
    assert len(re.findall(r'data-testid="condition-row"', r.text)) == 5
    assert 'value="кредит, loan"' in r.text
    assert await rules_of(demo) == []


async def test_edit_toggle_move_delete(
    client: httpx.AsyncClient, demo: Demo, queues: dict[str, int]
) -> None:
    csrf = await login_admin(client)
    await post_form(client, "/admin/routing/new", csrf, clients_form(queues))
    second = clients_form(queues, name="Contract", c0_type="event", c0_key="contract_signed",
                          c0_days="30", c1_type="")  # fmt: skip
    await post_form(client, "/admin/routing/new", csrf, second)
    async with db.sessionmaker()() as session:
        first, other = await repository.rules(session, demo.workspace_id)
    edit = await client.get(f"/admin/routing/{first.id}")
    assert edit.status_code == 200 and 'value="client"' in edit.text
    assert 'value="true"' in edit.text
    r = await post_form(
        client, f"/admin/routing/{first.id}", csrf, clients_form(queues, name="Clients!")
    )
    assert r.status_code == 303 and r.headers["location"].endswith("done=saved")
    r = await post_form(client, f"/admin/routing/{first.id}/toggle", csrf, {})
    assert r.status_code == 303
    assert [x["enabled"] for x in await rules_of(demo)] == [False, True]
    r = await post_form(client, f"/admin/routing/{other.id}/move", csrf, {"direction": "up"})
    assert r.status_code == 303
    assert [x["name"] for x in await rules_of(demo)] == ["Contract", "Clients!"]
    r = await post_form(client, f"/admin/routing/{other.id}/move", csrf, {"direction": "up"})
    assert r.status_code == 422  # already first among equals: an HTML error page
    r = await post_form(client, f"/admin/routing/{first.id}/delete", csrf, {})
    assert r.status_code == 303
    assert [x["name"] for x in await rules_of(demo)] == ["Contract"]
    assert (await client.get(f"/admin/routing/{first.id}")).status_code == 404


async def test_dry_run_page(client: httpx.AsyncClient, demo: Demo, queues: dict[str, int]) -> None:
    csrf = await login_admin(client)
    await post_form(client, "/admin/routing/new", csrf, clients_form(queues, c1_type=""))
    page = await client.get("/admin/routing/dry-run")
    assert page.status_code == 200 and "Website chat" in page.text
    r = await post_form(
        client, "/admin/routing/dry-run", csrf,
        {"contact": "client-42", "inbox_id": str(demo.inbox_id), "first_text": "hi"},
    )  # fmt: skip
    assert r.status_code == 200, r.text
    assert "Rule “Clients” wins." in r.text and "Queue: Business assistants." in r.text
    r = await post_form(
        client, "/admin/routing/dry-run", csrf,
        {"contact": "nobody@example.com", "inbox_id": str(demo.inbox_id)},
    )  # fmt: skip
    assert r.status_code == 422
    assert "No contact with this id, external id or email." in r.text
