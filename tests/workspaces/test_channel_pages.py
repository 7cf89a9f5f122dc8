"""Connecting a channel from the admin pages, driven by a ChannelType this test registers."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from omniline import db
from omniline.errors import DomainError, Invalid
from omniline.inboxes.channel_types import (
    ChannelType,
    SettingField,
    TestResult,
    channel_type_registered,
    channel_types,
)
from omniline.inboxes.models import Inbox
from omniline.workspaces.models import Workspace
from tests.conftest import Demo
from tests.workspaces.test_admin_pages import login, login_admin, post_form

GOOD_TOKEN = "good-token-123"


def _validate(settings: dict[str, Any]) -> dict[str, Any]:
    if not str(settings["server_url"]).startswith("https://"):
        raise Invalid("server_url", "must start with https://")
    # State a channel keeps for itself: made once, kept across saves.
    return {**settings, "webhook_secret": settings.get("webhook_secret") or "generated-once"}


async def _test(inbox: Inbox) -> TestResult:
    token = inbox.settings["token"]
    if token == GOOD_TOKEN:
        return TestResult(True, "connected as @lender_bot")
    if token == "explode":
        raise RuntimeError("a bug in the channel")
    return TestResult(False, f"wrong token for {inbox.name}")


async def _after_save(session: AsyncSession, inbox: Inbox) -> None:
    if "refuse" in inbox.settings["server_url"]:
        raise DomainError("the provider refused the webhook URL")
    inbox.settings = {**inbox.settings, "webhook_set": True}


def _setup(inbox: Inbox, base_url: str) -> list[tuple[str, str]]:
    return [("Webhook URL", f"{base_url}/channels/testchat/{inbox.key}/webhook")]


TEST_CHANNEL = ChannelType(
    channel="testchat",
    label="Test Messenger",
    description="A messenger that only exists in these tests.",
    fields=(
        SettingField("token", "Bot token", "secret", required=True, help="From the bot father."),
        SettingField("server_url", "Server URL", "url", required=True),
        SettingField(
            "mode", "Mode", "select", default="fast", choices=(("fast", "Fast"), ("safe", "Safe"))
        ),
        SettingField("notify", "Notify customers", "checkbox", default=True),
        SettingField("limit", "Daily limit", "number"),
        SettingField("signature", "Signature", "textarea"),
        SettingField("api_base", "API base URL", "url", advanced=True, default="https://api.test"),
    ),
    validate=_validate,
    test=_test,
    after_save=_after_save,
    setup=_setup,
)

VALID = {
    "name": "Lender bot",
    "enabled": "1",
    "setting_token": GOOD_TOKEN,
    "setting_server_url": "https://chat.example",
    "setting_mode": "safe",
    "setting_limit": "250",
    "setting_signature": "Best regards,\nMicroLend",
    "setting_api_base": "https://proxy.bank.example",
}


@pytest.fixture(autouse=True)
def test_channel() -> Iterator[ChannelType]:
    with channel_type_registered(TEST_CHANNEL) as ct:
        yield ct


async def inboxes_of(channel: str) -> list[Inbox]:
    async with db.sessionmaker()() as session:
        return list(await session.scalars(select(Inbox).where(Inbox.channel == channel)))


async def connect(client: httpx.AsyncClient, csrf: str, **changes: str) -> httpx.Response:
    return await post_form(client, "/admin/inboxes/connect/testchat", csrf, {**VALID, **changes})


async def connected(client: httpx.AsyncClient, csrf: str, **changes: str) -> int:
    r = await connect(client, csrf, **changes)
    assert r.status_code == 303, r.text
    found = re.fullmatch(r"/admin/channels/(\d+)\?done=connected", r.headers["location"])
    assert found, r.headers["location"]
    return int(found.group(1))


async def test_inbox_list_offers_the_channel(client: httpx.AsyncClient, demo: Demo) -> None:
    await login_admin(client)
    r = await client.get("/admin/inboxes")
    assert r.status_code == 200
    assert "Connect a channel" in r.text
    assert 'href="/admin/inboxes/connect/testchat"' in r.text
    assert "Test Messenger" in r.text
    assert "A messenger that only exists in these tests." in r.text
    assert 'href="/admin/inboxes/new"' in r.text  # the web chat stays where it was


async def test_connect_form_is_built_from_the_fields(client: httpx.AsyncClient, demo: Demo) -> None:
    await login_admin(client)
    r = await client.get("/admin/inboxes/connect/testchat")
    assert r.status_code == 200
    page = r.text
    assert "Connect Test Messenger" in page
    assert re.search(r'name="setting_token" type="password"', page)
    assert re.search(r'name="setting_server_url" type="url"', page)
    assert re.search(r'<option value="fast" selected>Fast</option>', page)
    assert re.search(r'name="setting_notify" value="1" checked', page)
    assert re.search(r'name="setting_limit" type="number"', page)
    assert '<textarea id="f-setting_signature"' in page
    assert "From the bot father." in page
    advanced = page[page.index('<details class="advanced"') :]
    assert 'name="setting_api_base"' in advanced
    assert 'value="https://api.test"' in advanced
    assert f'<option value="{demo.queues["First line"]}">First line</option>' in page


async def test_connect_saves_and_never_shows_the_secret(
    client: httpx.AsyncClient, demo: Demo
) -> None:
    csrf = await login_admin(client)
    inbox_id = await connected(client, csrf, default_queue_id=str(demo.queues["First line"]))
    (inbox,) = await inboxes_of("testchat")
    assert inbox.id == inbox_id
    assert inbox.workspace_id == demo.workspace_id
    assert inbox.default_queue_id == demo.queues["First line"]
    assert inbox.enabled
    assert inbox.settings["token"] == GOOD_TOKEN
    assert inbox.settings["mode"] == "safe"
    assert inbox.settings["notify"] is False  # unticked boxes are not sent by browsers
    assert inbox.settings["limit"] == 250
    assert inbox.settings["signature"] == "Best regards,\nMicroLend"
    assert inbox.settings["api_base"] == "https://proxy.bank.example"
    assert inbox.settings["webhook_set"] is True  # after_save ran

    page = (await client.get(f"/admin/channels/{inbox_id}?done=connected")).text
    assert "The channel was connected." in page
    assert GOOD_TOKEN not in page
    assert "Set; leave empty to keep it." in page
    assert f'value="http://testserver/channels/testchat/{inbox.key}/webhook"' in page
    assert 'value="https://proxy.bank.example"' in page

    listing = (await client.get("/admin/inboxes")).text
    assert f'href="/admin/channels/{inbox_id}"' in listing
    r = await client.get(f"/admin/inboxes/{inbox_id}")
    assert r.status_code == 303
    assert r.headers["location"] == f"/admin/channels/{inbox_id}"


async def test_refused_settings_are_shown_next_to_the_field(
    client: httpx.AsyncClient, demo: Demo
) -> None:
    csrf = await login_admin(client)
    r = await connect(client, csrf, setting_token="", setting_server_url="http://plain")
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("text/html")
    assert 'id="setting_token-error"' in r.text
    assert "Must not be empty." in r.text
    assert 'value="Lender bot"' in r.text  # what was typed stays

    r = await connect(client, csrf, setting_server_url="http://plain")
    assert r.status_code == 422
    assert 'id="setting_server_url-error"' in r.text
    assert "Must start with https://." in r.text
    assert GOOD_TOKEN not in r.text  # a typed secret is not sent back either
    assert 'value="http://plain"' in r.text

    r = await connect(client, csrf, name=" ", setting_limit="many")
    assert r.status_code == 422
    assert 'id="name-error"' in r.text

    r = await connect(client, csrf, setting_limit="many")
    assert r.status_code == 422
    assert 'id="setting_limit-error"' in r.text

    r = await connect(client, csrf, setting_mode="turbo")
    assert r.status_code == 422
    assert 'id="setting_mode-error"' in r.text

    r = await connect(client, csrf, setting_api_base="x" * 3000)
    assert r.status_code == 422
    assert 'id="setting_api_base-error"' in r.text
    assert '<details class="advanced" open>' in r.text
    assert await inboxes_of("testchat") == []


async def test_empty_secret_keeps_the_stored_one(client: httpx.AsyncClient, demo: Demo) -> None:
    csrf = await login_admin(client)
    inbox_id = await connected(client, csrf)
    edit = {**VALID, "name": "Renamed bot", "setting_token": "", "setting_mode": "fast"}
    r = await post_form(client, f"/admin/channels/{inbox_id}", csrf, edit)
    assert r.status_code == 303
    assert r.headers["location"] == f"/admin/channels/{inbox_id}?done=saved"
    (inbox,) = await inboxes_of("testchat")
    assert (inbox.name, inbox.settings["mode"]) == ("Renamed bot", "fast")
    assert inbox.settings["token"] == GOOD_TOKEN
    assert inbox.settings["webhook_secret"] == "generated-once"
    page = (await client.get(r.headers["location"])).text
    assert "The settings were saved." in page
    assert 'value="Renamed bot"' in page

    r = await post_form(
        client, f"/admin/channels/{inbox_id}", csrf, {**edit, "setting_token": "new-token"}
    )
    assert r.status_code == 303
    (inbox,) = await inboxes_of("testchat")
    assert inbox.settings["token"] == "new-token"

    r = await post_form(
        client, f"/admin/channels/{inbox_id}", csrf, {**edit, "setting_server_url": "ftp://x"}
    )
    assert r.status_code == 422
    assert 'id="setting_server_url-error"' in r.text
    assert "new-token" not in r.text
    (inbox,) = await inboxes_of("testchat")
    assert inbox.settings["server_url"] == "https://chat.example"


async def test_test_connection_says_what_happened(client: httpx.AsyncClient, demo: Demo) -> None:
    csrf = await login_admin(client)
    inbox_id = await connected(client, csrf, name="<b>Bot</b>")
    r = await post_form(client, f"/admin/channels/{inbox_id}/test", csrf, {})
    assert r.status_code == 200
    assert 'data-testid="test-result" data-ok="true"' in r.text
    assert "Connection works:" in r.text
    assert "Connected as @lender_bot." in r.text

    edit = {**VALID, "name": "<b>Bot</b>", "setting_token": "wrong"}
    assert (await post_form(client, f"/admin/channels/{inbox_id}", csrf, edit)).status_code == 303
    r = await post_form(client, f"/admin/channels/{inbox_id}/test", csrf, {})
    assert 'data-ok="false"' in r.text
    assert "Connection failed:" in r.text
    assert "Wrong token for &lt;b&gt;Bot&lt;/b&gt;." in r.text
    assert "<b>Bot</b>" not in r.text

    r = await client.post(
        f"/admin/channels/{inbox_id}/test",
        headers={"x-csrf-token": csrf, "accept": "application/json"},
    )
    assert r.json() == {"ok": False, "message": "wrong token for <b>Bot</b>"}

    edit["setting_token"] = "explode"
    assert (await post_form(client, f"/admin/channels/{inbox_id}", csrf, edit)).status_code == 303
    r = await post_form(client, f"/admin/channels/{inbox_id}/test", csrf, {})
    assert r.status_code == 200
    assert "Connection failed:" in r.text
    assert "A bug in the channel." in r.text


async def test_after_save_failure_keeps_the_inbox(client: httpx.AsyncClient, demo: Demo) -> None:
    csrf = await login_admin(client)
    inbox_id = await connected(client, csrf, setting_server_url="https://refuse.example")
    (inbox,) = await inboxes_of("testchat")
    assert inbox.settings["server_url"] == "https://refuse.example"
    page = (await client.get(f"/admin/channels/{inbox_id}")).text
    assert 'data-testid="setup-error"' in page
    assert "The provider refused the webhook URL." in page

    r = await post_form(client, f"/admin/channels/{inbox_id}", csrf, {**VALID, "setting_token": ""})
    assert r.status_code == 303
    page = (await client.get(f"/admin/channels/{inbox_id}")).text
    assert "refused the webhook" not in page
    (inbox,) = await inboxes_of("testchat")
    assert inbox.settings["webhook_set"] is True


async def test_unknown_channel_and_widget_inboxes(client: httpx.AsyncClient, demo: Demo) -> None:
    csrf = await login_admin(client)
    for path in ("/admin/inboxes/connect/nosuch", "/admin/inboxes/connect/webchat"):
        r = await client.get(path)
        assert r.status_code == 404, path
        assert r.headers["content-type"].startswith("text/html")
    r = await post_form(client, "/admin/inboxes/connect/nosuch", csrf, VALID)
    assert r.status_code == 404
    assert (await client.get(f"/admin/channels/{demo.inbox_id}")).status_code == 404
    assert (await client.get(f"/admin/inboxes/{demo.inbox_id}")).status_code == 200
    assert (await client.get("/admin/channels/999999")).status_code == 404


async def test_another_workspaces_inbox_is_not_found(client: httpx.AsyncClient, demo: Demo) -> None:
    async with db.unit_of_work() as session:
        other = Workspace(name="Other lender", slug="other")
        session.add(other)
        await session.flush()
        inbox = Inbox(
            workspace_id=other.id,
            channel="testchat",
            name="Their bot",
            key="their-bot",
            identity_secret="x" * 64,
            settings={"token": "their-token", "server_url": "https://theirs.example"},
        )
        session.add(inbox)
        await session.flush()
        their_id = inbox.id
    csrf = await login_admin(client)
    assert (await client.get(f"/admin/channels/{their_id}")).status_code == 404
    r = await post_form(client, f"/admin/channels/{their_id}", csrf, VALID)
    assert r.status_code == 404
    r = await post_form(client, f"/admin/channels/{their_id}/test", csrf, {})
    assert r.status_code == 404
    assert "their-token" not in r.text
    (theirs,) = await inboxes_of("testchat")
    assert theirs.settings["token"] == "their-token"


async def test_agents_are_refused(client: httpx.AsyncClient, demo: Demo) -> None:
    csrf = await login_admin(client)
    inbox_id = await connected(client, csrf)
    await client.post("/logout", data={"csrf_token": csrf})
    client.cookies.clear()
    await login(client, "agent@demo.omniline", "demo-agent")
    agent_csrf = re.search(r'name="csrf-token" content="([^"]+)"', (await client.get("/app")).text)
    assert agent_csrf
    for path in ("/admin/inboxes/connect/testchat", f"/admin/channels/{inbox_id}"):
        r = await client.get(path)
        assert r.status_code == 403, path
    for path in (
        "/admin/inboxes/connect/testchat",
        f"/admin/channels/{inbox_id}",
        f"/admin/channels/{inbox_id}/test",
    ):
        r = await post_form(client, path, agent_csrf.group(1), {**VALID, "name": "Agent bot"})
        assert r.status_code == 403, path
        assert "good-token" not in r.text
    assert [i.name for i in await inboxes_of("testchat")] == ["Lender bot"]


async def test_csrf_is_required(client: httpx.AsyncClient, demo: Demo) -> None:
    csrf = await login_admin(client)
    inbox_id = await connected(client, csrf)
    r = await client.post("/admin/inboxes/connect/testchat", data={**VALID, "name": "No csrf"})
    assert r.status_code == 403
    r = await client.post(f"/admin/channels/{inbox_id}", data={**VALID, "name": "No csrf"})
    assert r.status_code == 403
    r = await client.post(f"/admin/channels/{inbox_id}/test", data={"csrf_token": "forged"})
    assert r.status_code == 403
    async with db.sessionmaker()() as session:
        names = await session.scalar(select(func.count()).where(Inbox.name == "No csrf"))
    assert names == 0


async def test_every_installed_channel_has_a_form(client: httpx.AsyncClient, demo: Demo) -> None:
    await login_admin(client)
    listing = (await client.get("/admin/inboxes")).text
    for ct in channel_types():
        if ct.channel in ("webchat", "mobile"):
            continue
        assert f'href="/admin/inboxes/connect/{ct.channel}"' in listing
        r = await client.get(f"/admin/inboxes/connect/{ct.channel}")
        assert r.status_code == 200, ct.channel
        for f in ct.fields:
            assert f'name="setting_{f.name}"' in r.text, (ct.channel, f.name)
