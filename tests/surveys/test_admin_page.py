"""The admin page of surveys: an inbox's survey switched on with its own text, and refusals."""

from __future__ import annotations

import httpx

from tests.conftest import Demo
from tests.workspaces.test_admin_pages import login, login_admin, post_form


def form(**extra: str) -> dict[str, object]:
    data: dict[str, object] = {
        "enabled": "1",
        "kind": "nps",
        "ask_comment": "1",
        "delay_minutes": "5",
        "expiry_hours": "48",
        "uk.question": "Чи порадите нас <друзям>?",
    }
    data.update(extra)
    return data


async def test_admin_switches_a_survey_on(client: httpx.AsyncClient, demo: Demo) -> None:
    csrf = await login_admin(client)
    listing = await client.get("/admin/surveys")
    assert listing.status_code == 200
    assert "Website chat" in listing.text
    edit = await client.get(f"/admin/surveys/{demo.inbox_id}")
    assert edit.status_code == 200
    assert 'name="ru.thanks"' in edit.text
    r = await post_form(client, f"/admin/surveys/{demo.inbox_id}", csrf, form())
    assert r.status_code == 303, r.text
    listing = await client.get(r.headers["location"])
    assert "The survey settings were saved." in listing.text
    assert "NPS 0-10" in listing.text
    edit = await client.get(f"/admin/surveys/{demo.inbox_id}")
    assert "Чи порадите нас &lt;друзям&gt;?" in edit.text  # escaped in the form

    r = await post_form(client, f"/admin/surveys/{demo.inbox_id}", csrf, form(expiry_hours="0"))
    assert r.status_code == 422
    assert "expiry_hours" in r.text
    r = await post_form(client, "/admin/surveys/999999", csrf, form())
    assert r.status_code == 404


async def test_agents_cannot_open_it(client: httpx.AsyncClient, demo: Demo) -> None:
    await login(client, "agent@demo.omniline", "demo-agent")
    r = await client.get("/admin/surveys")
    assert r.status_code == 403
