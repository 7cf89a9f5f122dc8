"""The admin pages of auto-replies: list, form with texts per language, preview, refusals."""

from __future__ import annotations

import httpx

from tests.autoreplies.support import admin_headers, create_rule
from tests.conftest import Demo
from tests.workspaces.test_admin_pages import login, login_admin, post_form


def form(demo: Demo, **extra: object) -> dict[str, object]:
    data: dict[str, object] = {
        "name": "Website greeting",
        "kind": "greeting",
        "inbox_id": str(demo.inbox_id),
        "queue_id": "",
        "enabled": "1",
        "fallback_language": "en",
        "author_name": "",
        "calendar_id": "",
        "min_position": "",
        "min_wait_minutes": "",
        "texts.0.language": "en",
        "texts.0.text": "Hello {contact_name}!",
        "texts.1.language": "uk",
        "texts.1.text": "Вітаємо, {contact_name}!",
        "texts.2.language": "",
        "texts.2.text": "",
        "action": "save",
    }
    data.update(extra)
    return data


async def test_admin_creates_and_edits_a_rule(client: httpx.AsyncClient, demo: Demo) -> None:
    csrf = await login_admin(client)
    page = await client.get("/admin/autoreplies/new")
    assert page.status_code == 200
    assert 'name="texts.0.language"' in page.text
    r = await post_form(client, "/admin/autoreplies", csrf, form(demo))
    assert r.status_code == 303, r.text
    listing = await client.get(r.headers["location"])
    assert "The auto-reply was created." in listing.text
    assert "Website greeting" in listing.text
    assert "Website chat" in listing.text  # the inbox of the rule

    rid = r.headers["location"].split("rule=")[1]
    edit = await client.get(f"/admin/autoreplies/{rid}")
    assert "Вітаємо, {contact_name}!" in edit.text
    r = await post_form(
        client, f"/admin/autoreplies/{rid}", csrf, form(demo, name="Renamed", enabled="")
    )
    assert r.status_code == 303
    listing = await client.get("/admin/autoreplies")
    assert "Renamed" in listing.text
    assert "Disabled" in listing.text


async def test_refused_form_shows_the_message_by_the_field(
    client: httpx.AsyncClient, demo: Demo
) -> None:
    csrf = await login_admin(client)
    r = await post_form(
        client, "/admin/autoreplies", csrf, form(demo, **{"texts.1.text": "Hi {agent_name}"})
    )
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("text/html")
    assert 'id="texts.1.text-error"' in r.text
    assert "has no value in a greeting message" in r.text
    assert 'value="Website greeting"' in r.text  # what was typed stays
    listing = await client.get("/admin/autoreplies")
    assert "No auto-replies yet." in listing.text


async def test_preview_renders_sample_values_without_saving(
    client: httpx.AsyncClient, demo: Demo
) -> None:
    csrf = await login_admin(client)
    r = await post_form(
        client,
        "/admin/autoreplies",
        csrf,
        form(
            demo, action="preview", **{"texts.0.text": "<b>{contact_name}</b>, number {position}"}
        ),
    )
    assert r.status_code == 200
    assert "&lt;b&gt;Olena Kovalenko&lt;/b&gt;, number 4" in r.text  # escaped on the page
    listing = await client.get("/admin/autoreplies")
    assert "No auto-replies yet." in listing.text


async def test_delete_and_agents_are_kept_out(client: httpx.AsyncClient, demo: Demo) -> None:
    rid = await create_rule(client, await admin_headers(client))
    csrf = await login_admin(client)
    r = await post_form(client, f"/admin/autoreplies/{rid}/delete", csrf, {})
    assert r.status_code == 303
    assert "No auto-replies yet." in (await client.get("/admin/autoreplies")).text
    assert (await client.get("/admin/autoreplies/999999")).status_code == 404

    client.cookies.clear()
    await login(client, "agent@demo.omniline", "demo-agent")
    assert (await client.get("/admin/autoreplies")).status_code == 403
