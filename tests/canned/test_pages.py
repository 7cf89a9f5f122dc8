"""The pages for canned responses: agents keep their own at /canned, admins the shared ones."""

from __future__ import annotations

import httpx

from tests.conftest import Demo
from tests.webhooks.helpers import AGENT, login
from tests.workspaces.test_admin_pages import csrf_of, login_admin, post_form
from tests.workspaces.test_admin_pages import login as page_login


async def test_an_agent_keeps_personal_responses(client: httpx.AsyncClient, demo: Demo) -> None:
    await page_login(client, "agent@demo.omniline", "demo-agent")
    page = await client.get("/canned")
    assert page.status_code == 200
    csrf = csrf_of(page.text)
    assert 'name="scope" value="personal"' in page.text  # no choice of "shared" for agents

    bad = await post_form(
        client, "/canned", csrf, {"shortcut": "hi", "title": "Hi", "text": "Dear {nme}"}
    )
    assert bad.status_code == 422 and "Unknown variable {nme}" in bad.text
    assert 'value="hi"' in bad.text  # the form keeps what was typed

    sneaky = await post_form(
        client, "/canned", csrf, {"scope": "shared", "shortcut": "hi", "title": "Hi", "text": "x"}
    )
    assert sneaky.status_code == 403 and "shared responses" in sneaky.text

    made = await post_form(
        client,
        "/canned",
        csrf,
        {"shortcut": "hi", "title": "<i>Hi</i>", "text": "Hello {contact_name}", "tr_uk": "Вітаю"},
    )
    assert made.status_code == 303
    listing = await client.get(made.headers["location"])
    assert "The response was created" in listing.text and "&lt;i&gt;Hi&lt;/i&gt;" in listing.text
    api = await login(client, AGENT)
    (item,) = (await client.get("/api/v1/canned", headers=api)).json()["items"]
    assert item["translations"] == {"uk": "Вітаю"} and not item["shared"]

    edit = await client.get(f"/canned/{item['id']}")
    assert edit.status_code == 200
    saved = await post_form(
        client, f"/canned/{item['id']}", csrf, {"shortcut": "hello", "title": "Hi", "text": "Hey"}
    )
    assert saved.status_code == 303
    gone = await post_form(client, f"/canned/{item['id']}/delete", csrf, {})
    assert gone.status_code == 303
    assert (await client.get("/api/v1/canned", headers=api)).json()["items"] == []


async def test_admins_manage_shared_responses(client: httpx.AsyncClient, demo: Demo) -> None:
    csrf = await login_admin(client)
    page = await client.get("/admin/canned")
    assert page.status_code == 200 and "Shared canned responses" in page.text
    made = await post_form(
        client, "/admin/canned", csrf, {"shortcut": "greet", "title": "Greeting", "text": "Hi"}
    )
    assert made.status_code == 303
    dup = await post_form(
        client, "/admin/canned", csrf, {"shortcut": "GREET", "title": "Again", "text": "Hi"}
    )
    assert dup.status_code == 409 and "already used" in dup.text
    agent = await login(client, AGENT)
    (item,) = (await client.get("/api/v1/canned", headers=agent)).json()["items"]
    assert item["shared"] and not item["editable"]
    assert (await client.get(f"/admin/canned/{item['id']}")).status_code == 200


async def test_agents_cannot_open_the_admin_page(client: httpx.AsyncClient, demo: Demo) -> None:
    await page_login(client, "agent@demo.omniline", "demo-agent")
    assert (await client.get("/admin/canned")).status_code == 403
    assert (await client.get("/canned/999")).status_code == 404
