"""Login throttling: wrong passwords in a row lock the account for a while (429 with
Retry-After), also when the right password comes next; the same per client address, on the API
token endpoint, the login page and the widget's identity check."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from omniline.config import Settings
from tests.conftest import Demo
from tests.identity import signed_identity

AGENT = "agent@demo.omniline"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # Small limits keep the tests short; the defaults are documented in configuration.md.
    settings.login_limit_per_account = "5/15 minutes"
    settings.login_limit_per_address = "12/15 minutes"
    settings.widget_identity_limit_per_address = "5/15 minutes"
    return settings


async def _api_login(client: httpx.AsyncClient, password: str, **kw: Any) -> httpx.Response:
    return await client.post(
        "/api/v1/auth/login", json={"email": kw.get("email", AGENT), "password": password}
    )


async def test_thirty_wrong_passwords_then_the_right_one_is_refused(
    client: httpx.AsyncClient, demo: Demo
) -> None:
    codes = [(await _api_login(client, f"wrong-{i}")).status_code for i in range(30)]
    assert codes[:5] == [401] * 5
    assert set(codes[5:]) == {429}
    r = await _api_login(client, "demo-agent")
    assert r.status_code == 429
    assert r.json()["error"]["code"] == "too_many_requests"
    assert 0 < int(r.headers["retry-after"]) <= 15 * 60
    for header in ("x-content-type-options", "content-security-policy"):
        assert header in r.headers


async def test_the_lockout_is_per_account(client: httpx.AsyncClient, demo: Demo) -> None:
    for i in range(6):
        await _api_login(client, f"wrong-{i}")
    r = await _api_login(client, "demo-agent", email="agent2@demo.omniline")
    assert r.status_code == 200, r.text


async def test_one_address_trying_many_accounts_is_slowed(
    client: httpx.AsyncClient, demo: Demo
) -> None:
    """Credential stuffing: a few tries on each of many accounts from one address."""
    codes = []
    for i in range(14):
        r = await _api_login(client, "Password1!", email=f"person{i}@demo.omniline")
        codes.append(r.status_code)
    assert codes[:12] == [401] * 12
    assert codes[12:] == [429, 429]
    assert (await _api_login(client, "demo-agent")).status_code == 429


async def test_the_login_page_says_so(client: httpx.AsyncClient, demo: Demo) -> None:
    page = await client.get("/login")
    csrf = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    status = []
    for i in range(6):
        r = await client.post(
            "/login", data={"email": AGENT, "password": f"wrong-{i}", "csrf_token": csrf}
        )
        status.append(r.status_code)
    assert status == [401] * 5 + [429]
    assert "Too many sign-in attempts" in r.text
    assert int(r.headers["retry-after"]) > 0


async def test_a_correct_login_clears_the_account_count(
    client: httpx.AsyncClient, demo: Demo
) -> None:
    for _ in range(3):
        await _api_login(client, "wrong")
    assert (await _api_login(client, "demo-agent")).status_code == 200
    codes = [(await _api_login(client, "wrong")).status_code for _ in range(4)]
    assert codes == [401] * 4


async def test_the_widget_identity_check_is_throttled(
    client: httpx.AsyncClient, demo: Demo
) -> None:
    bad = signed_identity("not-the-secret", "client-42")
    codes = []
    for _ in range(7):
        r = await client.post(
            "/api/v1/widget/sessions", json={"inbox_key": demo.inbox_key, "identity": bad}
        )
        codes.append(r.status_code)
    assert codes[:5] == [401] * 5
    assert codes[5:] == [429, 429]
    good = signed_identity(demo.identity_secret, "client-42")
    r = await client.post(
        "/api/v1/widget/sessions", json={"inbox_key": demo.inbox_key, "identity": good}
    )
    assert r.status_code == 429
    assert "retry-after" in r.headers
    # Anonymous chats from that address are not blocked by a failing identity check.
    r = await client.post("/api/v1/widget/sessions", json={"inbox_key": demo.inbox_key})
    assert r.status_code == 201


async def test_the_counts_are_shared_through_redis(settings: Settings) -> None:
    """Two processes (two throttles) behind a load balancer see the same failures."""
    import os
    import uuid

    import redis.asyncio as aioredis

    from omniline.auth.throttle import Throttle
    from omniline.errors import TooManyRequests

    url = os.environ.get("OMNILINE_TEST_REDIS_URL", "redis://127.0.0.1:6379").rstrip("/")
    try:
        probe = aioredis.from_url(url, socket_connect_timeout=2)
        await probe.ping()
        await probe.aclose()
    except Exception as exc:
        pytest.skip(f"Redis does not answer at {url} ({exc!r}); start it to run this")
    shared = settings.model_copy(update={"redis_url": url})
    one, two = Throttle(shared), Throttle(shared)
    run = uuid.uuid4()
    email = f"{run.hex}@example.com"
    # Documentation addresses, new each run: the counts of earlier runs stay in Redis a while.
    here, there = f"2001:db8::{run.hex[:4]}:1", f"2001:db8::{run.hex[:4]}:2"
    checks = one.login(email, here)
    for _ in range(5):
        await one.check(*checks)
        await one.fail(*checks)
    with pytest.raises(TooManyRequests):
        await two.check(*two.login(email, there))
    await two.clear(*two.login(email, there)[0])
    await one.check(*one.login(email, there))
