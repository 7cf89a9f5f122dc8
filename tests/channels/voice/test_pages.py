"""The supervisors' callback page: who may open it, what it lists, and that it escapes."""

from __future__ import annotations

import httpx

from omniline import db
from omniline.contacts.models import Contact
from omniline.inboxes import service as inboxes
from tests.conftest import Demo, bearer, staff_token
from tests.workspaces.test_admin_pages import login

EVIL = "<script>alert('cb')</script>"


async def _voice_line(demo: Demo) -> int:
    async with db.unit_of_work() as session:
        inbox = await inboxes.do_create_inbox(
            session, demo.workspace_id, channel="voice", name="Hotline <b>1</b>", key="hotline",
            default_queue_id=demo.queues["First line"],
            settings={"provider": "ari", "ari_url": "http://127.0.0.1:9", "region": "UA"},
        )  # fmt: skip
        return inbox.id


async def _evil_contact(demo: Demo) -> int:
    async with db.unit_of_work() as session:
        contact = Contact(workspace_id=demo.workspace_id, name=EVIL, phone="+380501112233")
        session.add(contact)
        await session.flush()
        return contact.id


async def test_agents_may_not_open_the_callback_list(client: httpx.AsyncClient, demo: Demo) -> None:
    await login(client, "agent@demo.omniline", "demo-agent")
    r = await client.get("/voice/callbacks")
    assert r.status_code == 403
    assert "text/html" in r.headers["content-type"]
    assert 'data-testid="callback-table"' not in r.text
    home = await client.get("/app")
    assert 'href="/voice/callbacks"' not in home.text


async def test_signed_out_visitors_are_sent_to_login(client: httpx.AsyncClient, demo: Demo) -> None:
    r = await client.get("/voice/callbacks")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


async def test_supervisor_sees_waiting_callbacks_escaped(
    client: httpx.AsyncClient, demo: Demo
) -> None:
    inbox_id = await _voice_line(demo)
    contact_id = await _evil_contact(demo)
    token = await staff_token(client, "supervisor@demo.omniline", "demo-supervisor")
    r = await client.post(
        "/api/v1/voice/callbacks",
        json={"inbox_id": inbox_id, "number": "+380501112233", "contact_id": contact_id},
        headers=bearer(token),
    )
    assert r.status_code == 201, r.text
    await login(client, "supervisor@demo.omniline", "demo-supervisor")
    page = await client.get("/voice/callbacks")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    assert EVIL not in page.text and "Hotline <b>1</b>" not in page.text
    assert "&lt;script&gt;alert(&#39;cb&#39;)&lt;/script&gt;" in page.text
    assert "Hotline &lt;b&gt;1&lt;/b&gt;" in page.text
    assert 'data-testid="callback-row"' in page.text and "+380501112233" in page.text
    assert "Booked by staff" in page.text and "0 / " in page.text
    assert 'href="/voice/callbacks"' in page.text  # the navigation link


async def test_admin_opens_the_empty_list(client: httpx.AsyncClient, demo: Demo) -> None:
    await login(client, "admin@demo.omniline", "demo-admin")
    page = await client.get("/voice/callbacks")
    assert page.status_code == 200
    assert 'data-testid="callback-empty"' in page.text
    assert 'src="/static/voice/callbacks.js"' in page.text or "voice/callbacks.js" in page.text


async def test_transfer_has_its_own_route(client: httpx.AsyncClient, demo: Demo) -> None:
    """The softphone's Transfer reaches the transfer handler, not the hold/hang-up one."""
    token = await staff_token(client, "agent@demo.omniline", "demo-agent")
    r = await client.post(
        "/api/v1/voice/calls/999/transfer", json={"to_number": "+380441112233"},
        headers=bearer(token),
    )  # fmt: skip
    assert r.status_code == 404 and r.json()["error"]["message"] == "no such call"
    r = await client.post("/api/v1/voice/calls/999/dance", json={}, headers=bearer(token))
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


async def test_agents_may_not_open_campaigns(client: httpx.AsyncClient, demo: Demo) -> None:
    await login(client, "agent@demo.omniline", "demo-agent")
    r = await client.get("/voice/campaigns")
    assert r.status_code == 403
    assert 'data-testid="campaign-table"' not in r.text
    assert 'data-testid="campaign-form"' not in r.text
    assert 'data-testid="nav-campaigns"' not in (await client.get("/app")).text


async def test_supervisor_opens_the_campaigns_page(client: httpx.AsyncClient, demo: Demo) -> None:
    await login(client, "supervisor@demo.omniline", "demo-supervisor")
    r = await client.get("/voice/campaigns")
    assert r.status_code == 200
    assert 'data-testid="campaign-table"' in r.text
    assert 'data-testid="nav-campaigns"' in r.text


async def test_the_new_campaign_form_offers_lines_published_flows_and_queues(
    client: httpx.AsyncClient, demo: Demo
) -> None:
    from omniline.bots.models import BotFlow
    from tests.bots.support import admin, publish
    from tests.channels.voice.test_campaigns import reminder_flow

    h = await admin(client)
    live = await publish(client, h, reminder_flow(), key="reminder", secret=None)
    draft = await publish(client, h, reminder_flow(), key="draft", secret=None)
    async with db.unit_of_work() as session:
        flow = await session.get(BotFlow, draft)
        assert flow is not None
        flow.published_version_id = None  # a flow with no live version is not offered
        flow.name = "Draft <i>only</i>"
        live_name = (await session.get(BotFlow, live)).name  # type: ignore[union-attr]

    await login(client, "supervisor@demo.omniline", "demo-supervisor")
    r = await client.get("/voice/campaigns")
    assert 'data-testid="campaign-no-lines"' in r.text  # no phone line yet: no form
    assert 'data-testid="campaign-form"' not in r.text

    inbox_id = await _voice_line(demo)
    r = await client.get("/voice/campaigns")
    assert 'data-testid="campaign-form"' in r.text
    assert f'<option value="{inbox_id}">Hotline &lt;b&gt;1&lt;/b&gt;</option>' in r.text
    assert f'<option value="{live}">{live_name}</option>' in r.text
    flows = r.text.split('data-testid="campaign-flow"', 1)[1].split("</select>", 1)[0]
    assert f'<option value="{live}">' in flows and f'<option value="{draft}">' not in flows
    assert "Draft" not in flows
    assert f'<option value="{demo.queues["Complaints"]}">Complaints</option>' in r.text


async def test_the_campaign_form_speaks_the_users_language(
    client: httpx.AsyncClient, demo: Demo
) -> None:
    """An administrator who reads Ukrainian gets the form, its Edit/Save strings and its
    checks in Ukrainian (the strings the page's script shows are in its JSON)."""
    import json
    import re

    from sqlalchemy import update

    from omniline.auth.models import User
    from tests.web.test_i18n import translate

    await _voice_line(demo)
    async with db.unit_of_work() as session:
        await session.execute(
            update(User).where(User.email == "admin@demo.omniline").values(locale="uk")
        )
    await login(client, "admin@demo.omniline", "demo-admin")
    r = await client.get("/voice/campaigns")
    assert r.status_code == 200
    assert 'data-testid="campaign-form"' in r.text
    assert translate("uk", "Create campaign") in r.text
    assert 'data-testid="campaign-cancel-edit"' in r.text
    found = re.search(r'<script type="application/json" id="i18n">(.*?)</script>', r.text, re.S)
    assert found is not None
    strings = json.loads(found.group(1))
    for key, msgid in (
        ("edit", "Edit"),
        ("save", "Save changes"),
        ("saved", "Campaign {name} saved."),
        ("edit_title", "Edit campaign {name}"),
        ("invalid_window", "The dialling hours are empty: the end is the start."),
    ):
        assert strings[key] == translate("uk", msgid), key
