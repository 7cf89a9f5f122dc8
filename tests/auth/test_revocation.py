"""Access that ends when it is taken away: tokens, cookies and open sockets, at once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from websockets.exceptions import ConnectionClosed

from omniline import cli, db
from omniline.auth import service
from omniline.auth.models import User
from omniline.auth.principal import Principal
from omniline.workspaces import service as workspaces
from tests.conftest import Demo, LiveServer, bearer, staff_token, visitor
from tests.realtime.conftest import is_event, open_stream, say, ws_url

AGENT = ("agent@demo.omniline", "demo-agent")
ADMIN = ("admin@demo.omniline", "demo-admin")


async def _admin(demo: Demo) -> Principal:
    async with db.sessionmaker()() as session:
        user = await session.get(User, demo.users["admin"])
        assert user is not None
        return await service.principal_for(session, user)


async def _edit_agent(demo: Demo, **change: Any) -> None:
    """What the admin user page does (auth/service.do_admin_update_user)."""
    admin = await _admin(demo)
    async with db.unit_of_work() as session:
        agent = await session.get(User, demo.users["agent"])
        assert agent is not None
        fields = {"name": agent.name, "role": agent.role, "locale": agent.locale, "active": True}
        await service.do_admin_update_user(session, admin, agent.id, **{**fields, **change})


async def _works(client: httpx.AsyncClient, token: str) -> bool:
    r = await client.get("/api/v1/me", headers=bearer(token))
    assert r.status_code in (200, 401), r.text
    return r.status_code == 200


async def _api_token(client: httpx.AsyncClient, token: str) -> str:
    async with db.unit_of_work() as session:
        user = await session.get(
            User, (await client.get("/api/v1/me", headers=bearer(token))).json()["id"]
        )
        assert user is not None
        secret, _ = await service.do_create_api_token(
            session, await service.principal_for(session, user), "crm"
        )
        return secret


async def test_deactivation_ends_every_token_and_reactivation_brings_none_back(
    client: httpx.AsyncClient, demo: Demo
) -> None:
    token = await staff_token(client, *AGENT)
    integration = await _api_token(client, token)
    assert await _works(client, token) and await _works(client, integration)

    await _edit_agent(demo, active=False)
    assert not await _works(client, token)
    assert not await _works(client, integration)

    await _edit_agent(demo, active=True)
    assert not await _works(client, token)
    assert not await _works(client, integration)
    assert await _works(client, await staff_token(client, *AGENT))


async def test_a_role_change_ends_the_sessions(client: httpx.AsyncClient, demo: Demo) -> None:
    token = await staff_token(client, *AGENT)
    await _edit_agent(demo, role="supervisor")
    assert not await _works(client, token)


async def test_a_password_reset_by_an_admin_ends_the_sessions(
    client: httpx.AsyncClient, demo: Demo
) -> None:
    token = await staff_token(client, *AGENT)
    integration = await _api_token(client, token)
    admin = await _admin(demo)
    async with db.unit_of_work() as session:
        await service.do_reset_password(session, admin, demo.users["agent"], "new-password-1")
    assert not await _works(client, token)
    assert await _works(client, integration)  # integration tokens are revoked on their own page


async def test_the_cli_password_change_ends_the_sessions(
    client: httpx.AsyncClient, demo: Demo, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = await staff_token(client, *AGENT)
    monkeypatch.setenv("OMNILINE_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("OMNILINE_SECRET_KEY", settings.secret_key)
    monkeypatch.setenv("OMNILINE_DEMO_MODE", "true")
    await db.dispose_engine()  # the command opens its own engine, as a separate process would
    args = cli.build_parser().parse_args(
        ["user", "passwd", "--email", "agent@demo.omniline", "--password", "changed-on-cli-1"]
    )
    await asyncio.to_thread(args.fn, args)
    db.init_engine(settings)
    assert not await _works(client, token)


async def test_log_out_everywhere_and_the_list_of_sessions(
    client: httpx.AsyncClient, demo: Demo
) -> None:
    first = await staff_token(client, *AGENT)
    second = await staff_token(client, *AGENT)
    r = await client.get("/api/v1/auth/sessions", headers=bearer(second))
    items = r.json()["items"]
    assert len(items) == 2
    assert [i["current"] for i in items] == [True, False]
    assert all(i["kind"] == "access" for i in items)

    # End one of them: only that one stops working.
    r = await client.delete(f"/api/v1/auth/sessions/{items[1]['id']}", headers=bearer(second))
    assert r.status_code == 204
    assert not await _works(client, first) and await _works(client, second)

    third = await staff_token(client, *AGENT)
    r = await client.post("/api/v1/auth/logout-everywhere", headers=bearer(third))
    assert r.status_code == 204
    assert not await _works(client, second) and not await _works(client, third)


async def test_an_admin_ends_a_colleagues_sessions_an_agent_cannot(
    client: httpx.AsyncClient, demo: Demo
) -> None:
    agent = await staff_token(client, *AGENT)
    other = await staff_token(client, "agent2@demo.omniline", "demo-agent")
    admin = await staff_token(client, *ADMIN)
    r = await client.get(f"/api/v1/users/{demo.users['agent']}/sessions", headers=bearer(other))
    assert r.status_code == 403
    r = await client.post(
        f"/api/v1/users/{demo.users['agent']}/logout-everywhere", headers=bearer(other)
    )
    assert r.status_code == 403
    assert await _works(client, agent)

    r = await client.get(f"/api/v1/users/{demo.users['agent']}/sessions", headers=bearer(admin))
    assert r.status_code == 200 and len(r.json()["items"]) == 1
    r = await client.post(
        f"/api/v1/users/{demo.users['agent']}/logout-everywhere", headers=bearer(admin)
    )
    assert r.status_code == 204
    assert not await _works(client, agent)
    assert await _works(client, other) and await _works(client, admin)


# --- open sockets -------------------------------------------------------------------------


@pytest.fixture
async def http(live_server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=live_server.url, timeout=10) as c:
        yield c


async def _closed_within(stream: Any, seconds: float) -> int | None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    try:
        while loop.time() < deadline:
            await asyncio.wait_for(stream.ws.recv(), deadline - loop.time())
    except ConnectionClosed as exc:
        return exc.rcvd.code if exc.rcvd is not None else None
    except TimeoutError:
        return None
    return None


@pytest.mark.parametrize("how", ["deactivate", "password", "role", "logout-everywhere"])
async def test_an_open_socket_is_closed_within_a_second(
    live_server: LiveServer, http: httpx.AsyncClient, demo: Demo, how: str
) -> None:
    token = await staff_token(http, *AGENT)
    stream = await open_stream(ws_url(live_server, "/api/v1/stream", token=token))
    await stream.hello()
    if how == "deactivate":
        await _edit_agent(demo, active=False)
    elif how == "role":
        await _edit_agent(demo, role="qa")
    elif how == "password":
        async with db.unit_of_work() as session:
            agent = await session.get(User, demo.users["agent"])
            assert agent is not None
            await service.do_update_user(session, agent, password="brand-new-pass")
    else:
        r = await http.post("/api/v1/auth/logout-everywhere", headers=bearer(token))
        assert r.status_code == 204
    # The check runs every second; allow for one tick and the round trip.
    assert await _closed_within(stream, 2.5) == 4401


async def test_a_queue_change_reaches_an_open_socket(
    live_server: LiveServer, http: httpx.AsyncClient, demo: Demo
) -> None:
    """Boris is in First line and Business assistants; take him out of First line, and his
    open socket stops getting First line's messages (and sees them locked) without reconnecting."""
    boris = await staff_token(http, "agent2@demo.omniline", "demo-agent")
    stream = await open_stream(ws_url(live_server, "/api/v1/stream", token=boris))
    await stream.hello()
    guest = await visitor(http)
    sent = await say(http, guest, "Before the change")
    await stream.until(is_event("message.created", message__id=sent["id"]))

    async with db.unit_of_work() as session:
        await workspaces.do_set_queue_members(
            session, demo.workspace_id, demo.queues["First line"], [demo.users["agent"]]
        )
    await asyncio.sleep(2.0)  # one check interval and then some
    second = await say(http, guest, "After the change")
    frames = await stream.quiet(2.0)
    texts = [
        f["data"]["message"]["text"]
        for f in frames
        if f.get("type") == "message.created" and "message" in (f.get("data") or {})
    ]
    assert "After the change" not in texts
    assert not any(
        second["id"] == (f.get("data") or {}).get("message", {}).get("id") for f in frames
    )
    async with db.sessionmaker()() as session:
        assert await session.scalar(select(User.active).where(User.id == demo.users["agent2"]))


async def test_the_sessions_pages(client: httpx.AsyncClient, demo: Demo) -> None:
    agent = await staff_token(client, *AGENT)
    other_browser = await staff_token(client, *AGENT)
    page = await client.get("/me/sessions", headers=bearer(agent))
    assert page.status_code == 200
    assert page.text.count('data-testid="my-session"') == 2
    assert "This browser" in page.text

    admin = await staff_token(client, *ADMIN)
    page = await client.get(f"/admin/users/{demo.users['agent']}", headers=bearer(admin))
    assert page.text.count('data-testid="user-session"') == 2
    r = await client.post(
        f"/admin/users/{demo.users['agent']}/logout-everywhere", headers=bearer(admin)
    )
    assert r.status_code == 303
    assert not await _works(client, agent) and not await _works(client, other_browser)
    page = await client.get(f"/admin/users/{demo.users['agent']}", headers=bearer(admin))
    assert "Not signed in anywhere." in page.text
