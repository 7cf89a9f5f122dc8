"""The admin pages through a real browser session: login form, CSRF, forms, redirects."""

from __future__ import annotations

import re

import httpx
from markupsafe import escape
from sqlalchemy import func, select

from omniline import db
from omniline.auth.models import User
from omniline.jobs.models import Job, JobState
from omniline.kit.clock import utcnow
from tests.conftest import Demo, bearer, staff_token

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
META_CSRF_RE = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


def csrf_of(page: str) -> str:
    found = META_CSRF_RE.search(page) or CSRF_RE.search(page)
    assert found, "no CSRF token on the page"
    return found.group(1)


async def login(client: httpx.AsyncClient, email: str, password: str) -> str:
    """Sign in through the real /login form; returns the CSRF token of the admin pages."""
    form = await client.get("/login")
    assert form.status_code == 200
    r = await client.post(
        "/login",
        data={
            "email": email,
            "password": password,
            "csrf_token": csrf_of(form.text),
            "next": "/admin",
        },
    )
    assert r.status_code == 303, r.text
    page = await client.get("/admin")
    if page.status_code != 200:
        return ""
    return csrf_of(page.text)


async def login_admin(client: httpx.AsyncClient) -> str:
    token = await login(client, "admin@demo.omniline", "demo-admin")
    assert token
    return token


async def post_form(
    client: httpx.AsyncClient, url: str, csrf: str, data: dict[str, object]
) -> httpx.Response:
    return await client.post(url, data={"csrf_token": csrf, **data})


async def count_users(email: str) -> int:
    async with db.sessionmaker()() as session:
        return int(await session.scalar(select(func.count()).where(User.email == email)) or 0)


async def test_agent_gets_403_on_every_admin_page(client: httpx.AsyncClient, demo: Demo) -> None:
    await login(client, "agent@demo.omniline", "demo-agent")
    for path in ("/admin", "/admin/users", "/admin/queues", "/admin/inboxes", "/admin/jobs"):
        r = await client.get(path)
        assert r.status_code == 403, path
        assert r.headers["content-type"].startswith("text/html")
        assert "administrators" in r.text


async def test_anonymous_is_sent_to_login(client: httpx.AsyncClient, demo: Demo) -> None:
    r = await client.get("/admin/users")
    assert r.status_code == 303
    assert r.headers["location"] == "/login?next=/admin/users"


async def test_overview_counts_and_links(client: httpx.AsyncClient, demo: Demo) -> None:
    await login_admin(client)
    r = await client.get("/admin")
    assert r.status_code == 200
    assert r.headers["cache-control"] == "no-store"
    for href in (
        "/admin/users",
        "/admin/teams",
        "/admin/queues",
        "/admin/inboxes",
        "/admin/tokens",
        "/admin/jobs",
    ):
        assert f'href="{href}"' in r.text
    assert re.search(r'class="stat-num">4<', r.text)  # active users of the demo


async def test_admin_creates_a_user_who_can_sign_in(client: httpx.AsyncClient, demo: Demo) -> None:
    csrf = await login_admin(client)
    form = await client.get("/admin/users/new")
    assert form.status_code == 200
    r = await post_form(
        client,
        "/admin/users",
        csrf,
        {
            "name": "Nadia New",
            "email": "Nadia@Demo.Omniline",
            "role": "agent",
            "locale": "uk",
            "password": "a-long-password",
            "queue_ids": [str(demo.queues["Tech support"])],
        },
    )
    assert r.status_code == 303
    assert r.headers["location"] == "/admin/users?ok=user_created"
    listing = await client.get(r.headers["location"])
    assert "The user was created." in listing.text
    assert "nadia@demo.omniline" in listing.text
    assert "Tech support" in listing.text

    token = await staff_token(client, "nadia@demo.omniline", "a-long-password")
    me = (await client.get("/api/v1/me", headers=bearer(token))).json()
    assert (me["name"], me["role"], me["locale"]) == ("Nadia New", "agent", "uk")


async def test_duplicate_email_rerenders_the_form(client: httpx.AsyncClient, demo: Demo) -> None:
    csrf = await login_admin(client)
    r = await post_form(
        client,
        "/admin/users",
        csrf,
        {
            "name": "Second Anna",
            "email": "agent@demo.omniline",
            "role": "supervisor",
            "locale": "ru",
            "password": "a-long-password",
        },
    )
    assert 400 <= r.status_code < 500
    assert r.headers["content-type"].startswith("text/html")
    assert 'id="email-error"' in r.text
    assert "already exists" in r.text
    assert 'value="Second Anna"' in r.text  # what was typed stays
    assert re.search(r'<option value="supervisor" selected>', r.text)
    assert await count_users("agent@demo.omniline") == 1


async def test_invalid_fields_are_shown_next_to_the_field(
    client: httpx.AsyncClient, demo: Demo
) -> None:
    csrf = await login_admin(client)
    r = await post_form(
        client,
        "/admin/users",
        csrf,
        {
            "name": "Short Pass",
            "email": "short@demo.omniline",
            "role": "agent",
            "locale": "en",
            "password": "short",
        },
    )
    assert r.status_code == 422
    assert 'id="password-error"' in r.text
    assert await count_users("short@demo.omniline") == 0


async def test_missing_csrf_is_refused(client: httpx.AsyncClient, demo: Demo) -> None:
    await login_admin(client)
    r = await client.post(
        "/admin/users",
        data={
            "name": "No Csrf",
            "email": "nocsrf@demo.omniline",
            "role": "agent",
            "locale": "en",
            "password": "a-long-password",
        },
    )
    assert r.status_code == 403
    assert r.headers["content-type"].startswith("text/html")
    assert await count_users("nocsrf@demo.omniline") == 0


async def test_user_name_is_escaped(client: httpx.AsyncClient, demo: Demo) -> None:
    csrf = await login_admin(client)
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    r = await post_form(
        client,
        "/admin/users",
        csrf,
        {
            "name": evil,
            "email": "evil@demo.omniline",
            "role": "agent",
            "locale": "en",
            "password": "a-long-password",
        },
    )
    assert r.status_code == 303
    page = (await client.get("/admin/users")).text
    assert evil not in page
    assert "<script>alert" not in page
    assert str(escape(evil)) in page


async def test_edit_user_and_reset_password(client: httpx.AsyncClient, demo: Demo) -> None:
    csrf = await login_admin(client)
    anna = demo.users["agent"]
    old_token = await staff_token(client, "agent@demo.omniline", "demo-agent")
    r = await post_form(
        client,
        f"/admin/users/{anna}",
        csrf,
        {
            "name": "Anna Lead",
            "role": "supervisor",
            "locale": "ru",
            "active": "1",
            "team_ids": [],
            "queue_ids": [str(demo.queues["Business assistants"])],
        },
    )
    assert r.status_code == 303
    # A role change ends the user's sessions (docs/security.md): she signs in again.
    assert (await client.get("/api/v1/me", headers=bearer(old_token))).status_code == 401
    old_token = await staff_token(client, "agent@demo.omniline", "demo-agent")
    me = (await client.get("/api/v1/me", headers=bearer(old_token))).json()
    assert (me["name"], me["role"], me["locale"]) == ("Anna Lead", "supervisor", "ru")

    r = await post_form(client, f"/admin/users/{anna}/password", csrf, {"password": "x"})
    assert r.status_code == 422
    assert 'id="password-error"' in r.text
    r = await post_form(
        client, f"/admin/users/{anna}/password", csrf, {"password": "a-new-password"}
    )
    assert r.status_code == 303
    assert (await client.get("/api/v1/me", headers=bearer(old_token))).status_code == 401
    await staff_token(client, "agent@demo.omniline", "a-new-password")

    r = await post_form(
        client,
        f"/admin/users/{anna}",
        csrf,
        {"name": "Anna Lead", "role": "supervisor", "locale": "ru"},  # "active" unticked
    )
    assert r.status_code == 303
    login_again = await client.post(
        "/api/v1/auth/login", json={"email": "agent@demo.omniline", "password": "a-new-password"}
    )
    assert login_again.status_code == 401


async def test_admin_cannot_lock_themselves_out(client: httpx.AsyncClient, demo: Demo) -> None:
    csrf = await login_admin(client)
    me = demo.users["admin"]
    r = await post_form(
        client, f"/admin/users/{me}", csrf, {"name": "Alex Admin", "role": "admin", "locale": "en"}
    )
    assert r.status_code == 422
    assert 'id="active-error"' in r.text
    assert (await client.get("/admin")).status_code == 200


async def test_queue_with_members_is_visible_to_them(client: httpx.AsyncClient, demo: Demo) -> None:
    csrf = await login_admin(client)
    r = await post_form(
        client,
        "/admin/queues",
        csrf,
        {"name": "Collections", "team_id": "", "priority": "5"},
    )
    assert r.status_code == 303
    listing = (await client.get("/admin/queues")).text
    found = re.search(r'href="/admin/queues/(\d+)">Collections<', listing)
    assert found
    queue_id = int(found.group(1))

    agent = await staff_token(client, "agent@demo.omniline", "demo-agent")

    async def visible() -> bool:
        items = (await client.get("/api/v1/queues", headers=bearer(agent))).json()["items"]
        return next(q["visible"] for q in items if q["id"] == queue_id)

    assert not await visible()
    r = await post_form(
        client, f"/admin/queues/{queue_id}", csrf, {"user_ids": [str(demo.users["agent"])]}
    )
    assert r.status_code == 303
    assert await visible()
    page = (await client.get(f"/admin/queues/{queue_id}")).text
    assert f'value="{demo.users["agent"]}" checked' in page


async def test_queue_errors_keep_the_form(client: httpx.AsyncClient, demo: Demo) -> None:
    csrf = await login_admin(client)
    r = await post_form(
        client, "/admin/queues", csrf, {"name": "First line", "priority": "7", "team_id": ""}
    )
    assert r.status_code == 409
    assert 'id="name-error"' in r.text
    r = await post_form(client, "/admin/queues", csrf, {"name": "Night", "priority": "many"})
    assert r.status_code == 422
    assert 'id="priority-error"' in r.text
    assert 'value="Night"' in r.text


async def test_team_create_and_members(client: httpx.AsyncClient, demo: Demo) -> None:
    csrf = await login_admin(client)
    r = await post_form(client, "/admin/teams", csrf, {"name": "Night shift"})
    assert r.status_code == 303
    page = (await client.get("/admin/teams")).text
    found = re.search(r'href="/admin/teams/(\d+)">Night shift<', page)
    assert found
    team_id = found.group(1)
    boris = demo.users["agent2"]
    r = await post_form(client, f"/admin/teams/{team_id}", csrf, {"user_ids": [str(boris)]})
    assert r.status_code == 303
    assert "Boris Agent" in (await client.get("/admin/teams")).text
    r = await post_form(client, "/admin/teams", csrf, {"name": "  "})
    assert r.status_code == 422


async def test_inbox_create_install_and_disable(client: httpx.AsyncClient, demo: Demo) -> None:
    csrf = await login_admin(client)
    r = await post_form(
        client,
        "/admin/inboxes",
        csrf,
        {
            "name": "App chat",
            "default_queue_id": str(demo.queues["First line"]),
            "color": "#aa3300",
            "greeting": "Hi <there>",
        },
    )
    assert r.status_code == 303
    page = (await client.get(r.headers["location"])).text
    key = re.search(r"data-inbox-key=&#34;([A-Za-z0-9_-]+)&#34;", page)
    assert key, "the install panel shows the script tag"
    tag = (
        f'<script src="http://testserver/widget.js" data-inbox-key="{key.group(1)}" async></script>'
    )
    assert str(escape(tag)) in page
    assert "Hi &lt;there&gt;" in page
    assert "hash_hmac" in page and "hmac.new" in page

    started = await client.post("/api/v1/widget/sessions", json={"inbox_key": key.group(1)})
    assert started.status_code == 201, started.text

    inbox_id = r.headers["location"].split("/")[-1].split("?")[0]
    r = await post_form(
        client,
        f"/admin/inboxes/{inbox_id}",
        csrf,
        {"name": "App chat", "default_queue_id": "", "color": "#aa3300", "greeting": ""},
    )
    assert r.status_code == 303
    refused = await client.post("/api/v1/widget/sessions", json={"inbox_key": key.group(1)})
    assert refused.status_code == 404

    r = await post_form(
        client, f"/admin/inboxes/{inbox_id}", csrf, {"name": "App chat", "color": "red"}
    )
    assert r.status_code == 422
    assert 'id="color-error"' in r.text


async def test_api_token_create_use_revoke(client: httpx.AsyncClient, demo: Demo) -> None:
    csrf = await login_admin(client)
    r = await post_form(client, "/admin/tokens", csrf, {"name": "CRM sync"})
    assert r.status_code == 200
    assert r.headers["cache-control"] == "no-store"
    secret = re.search(r'data-testid="new-token">(oml_[A-Za-z0-9_-]+)<', r.text)
    assert secret
    me = await client.get("/api/v1/me", headers=bearer(secret.group(1)))
    assert me.status_code == 200
    assert me.json()["email"] == "admin@demo.omniline"

    page = (await client.get("/admin/tokens")).text
    assert secret.group(1) not in page  # shown once only
    assert "CRM sync" in page
    assert "Never" not in page  # the call above recorded its last use
    token_id = re.search(r'action="/admin/tokens/(\d+)/revoke"', page)
    assert token_id
    r = await post_form(client, f"/admin/tokens/{token_id.group(1)}/revoke", csrf, {})
    assert r.status_code == 303
    assert r.headers["location"] == "/admin/tokens?ok=token_revoked"
    assert (await client.get("/api/v1/me", headers=bearer(secret.group(1)))).status_code == 401

    r = await post_form(client, "/admin/tokens", csrf, {"name": ""})
    assert r.status_code == 422
    assert 'id="name-error"' in r.text


async def test_failed_job_retry(client: httpx.AsyncClient, demo: Demo) -> None:
    async with db.unit_of_work() as session:
        job = Job(
            kind="deliver_message",
            payload={"message_id": 1},
            workspace_id=demo.workspace_id,
            state=JobState.failed.value,
            attempts=8,
            last_error="<b>boom</b>",
            finished_at=utcnow(),
        )
        other = Job(
            kind="deliver_message",
            payload={},
            workspace_id=demo.workspace_id + 1000,
            state=JobState.failed.value,
            attempts=8,
            last_error="someone else's",
        )
        session.add_all([job, other])
    csrf = await login_admin(client)
    page = (await client.get("/admin/jobs")).text
    assert "&lt;b&gt;boom&lt;/b&gt;" in page
    assert "someone else" not in page
    r = await post_form(client, f"/admin/jobs/{job.id}/retry", csrf, {})
    assert r.headers["location"] == "/admin/jobs?ok=job_retried"
    async with db.sessionmaker()() as session:
        assert (await session.get(Job, job.id)).state == JobState.pending.value  # type: ignore[union-attr]
    r = await post_form(client, f"/admin/jobs/{job.id}/retry", csrf, {})
    assert r.headers["location"] == "/admin/jobs?error=job_not_failed"
    r = await post_form(client, f"/admin/jobs/{other.id}/retry", csrf, {})
    assert r.headers["location"] == "/admin/jobs?error=not_found"


async def test_flash_only_shows_known_messages(client: httpx.AsyncClient, demo: Demo) -> None:
    await login_admin(client)
    page = (await client.get("/admin/users?ok=<b>Call+us</b>&error=anything")).text
    assert 'class="flash' not in page  # unknown codes show nothing (the URL is echoed escaped)
    assert "<b>Call" not in page
    assert "The user was created." in (await client.get("/admin/users?ok=user_created")).text


async def test_unknown_ids_are_html_404(client: httpx.AsyncClient, demo: Demo) -> None:
    await login_admin(client)
    for path in ("/admin/users/999999", "/admin/queues/999999", "/admin/inboxes/999999"):
        r = await client.get(path)
        assert r.status_code == 404, path
        assert r.headers["content-type"].startswith("text/html")


async def test_every_page_renders_in_each_language(client: httpx.AsyncClient, demo: Demo) -> None:
    csrf = await login_admin(client)
    pages = (
        "/admin", "/admin/users", "/admin/users/new", f"/admin/users/{demo.users['agent']}",
        "/admin/teams", "/admin/queues", f"/admin/queues/{demo.queues['First line']}",
        "/admin/inboxes", "/admin/inboxes/new", f"/admin/inboxes/{demo.inbox_id}",
        "/admin/tokens", "/admin/jobs",
    )  # fmt: skip
    for locale in ("ru", "uk", "en"):
        r = await post_form(client, "/me/locale", csrf, {"locale": locale})
        assert r.status_code == 303
        for path in pages:
            r = await client.get(path)
            assert r.status_code == 200, (locale, path)
            assert f'<html lang="{locale}">' in r.text
