"""Admins keep notification templates in the admin pages, one text per language."""

from __future__ import annotations

import httpx

from tests.conftest import Demo
from tests.workspaces.test_admin_pages import login_admin, post_form


def form(**extra: str) -> dict[str, str]:
    data = {
        "key": "application.approved",
        "name": "Approved <b>loan</b>",
        "lang_0": "uk",
        "text_0": "Заявку {{application}} схвалено",
        "lang_1": "en",
        "text_1": "Application {{application}} approved",
        "fallback_language": "en",
        "enabled": "on",
        "wa_name": "loan_approved",
        "wa_language": "uk=uk, en=en_US",
        "wa_params": "{{application}}",
    }
    data.update(extra)
    return data


async def test_admin_creates_edits_and_deletes_a_template(
    client: httpx.AsyncClient, demo: Demo
) -> None:
    csrf = await login_admin(client)
    assert (await client.get("/admin/notifications/new")).status_code == 200
    r = await post_form(client, "/admin/notifications", csrf, form())
    assert r.status_code == 303, r.text
    listing = await client.get("/admin/notifications")
    assert "application.approved" in listing.text and "loan_approved" in listing.text
    assert "Approved &lt;b&gt;loan&lt;/b&gt;" in listing.text
    r = await client.get("/api/v1/notifications/templates")
    (t,) = r.json()["items"]
    assert t["whatsapp"] == {
        "name": "loan_approved",
        "language": {"uk": "uk", "en": "en_US"},
        "params": ["{{application}}"],
    }
    # A fallback language without a text is refused with the form kept.
    r = await post_form(
        client, f"/admin/notifications/{t['id']}", csrf, form(fallback_language="ru")
    )
    assert r.status_code == 422 and "fallback_language" in r.text and "схвалено" in r.text
    r = await post_form(client, f"/admin/notifications/{t['id']}/delete", csrf, {})
    assert r.status_code == 303
    assert (await client.get("/api/v1/notifications/templates")).json()["items"] == []
