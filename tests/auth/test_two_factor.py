"""Two-factor sign-in (TOTP): set up with a code, asked after the password on the page and the
API, codes never accepted twice, recovery codes once each, mandatory per role."""

from __future__ import annotations

import time

import httpx
import pyotp
import pytest

from omniline import db
from omniline.auth import totp
from omniline.auth.models import User
from tests.conftest import Demo, bearer

AGENT = "agent@demo.omniline"


async def _enable(demo: Demo, who: str = "agent") -> tuple[str, list[str]]:
    async with db.unit_of_work() as session:
        user = await session.get(User, demo.users[who])
        assert user is not None
        secret = await totp.do_start_setup(session, user)
        codes = await totp.do_confirm_setup(session, user, pyotp.TOTP(secret).now())
    return secret, codes


def _next_code(secret: str) -> str:
    """A code of the next 30-second step: the current one was used to confirm the set-up."""
    return pyotp.TOTP(secret).at(time.time() + 30)


async def _api(client: httpx.AsyncClient, **body: str) -> httpx.Response:
    return await client.post(
        "/api/v1/auth/login", json={"email": AGENT, "password": "demo-agent", **body}
    )


async def test_the_api_asks_for_the_code_and_never_takes_one_twice(
    client: httpx.AsyncClient, demo: Demo
) -> None:
    secret, _ = await _enable(demo)
    r = await _api(client)
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "two_factor_required"
    assert (await _api(client, otp="000000")).status_code == 401
    code = _next_code(secret)
    r = await _api(client, otp=code)
    assert r.status_code == 200, r.text
    assert (await _api(client, otp=code)).status_code == 401  # replayed


async def test_a_recovery_code_signs_in_once(client: httpx.AsyncClient, demo: Demo) -> None:
    _, codes = await _enable(demo)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert (await _api(client, otp=codes[3])).status_code == 200
    assert (await _api(client, otp=codes[3])).status_code == 401


async def test_wrong_codes_are_throttled(client: httpx.AsyncClient, demo: Demo) -> None:
    secret, _ = await _enable(demo)
    statuses = [(await _api(client, otp=f"{i:06d}")).status_code for i in range(12)]
    assert statuses[-1] == 429
    assert (await _api(client, otp=_next_code(secret))).status_code == 429


async def _login_page(client: httpx.AsyncClient, password: str = "demo-agent") -> httpx.Response:
    page = await client.get("/login")
    csrf = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    return await client.post(
        "/login", data={"email": AGENT, "password": password, "csrf_token": csrf, "next": "/app"}
    )


async def test_the_login_page_asks_for_the_code_before_any_session(
    client: httpx.AsyncClient, demo: Demo
) -> None:
    secret, _ = await _enable(demo)
    r = await _login_page(client)
    assert r.status_code == 303
    assert r.headers["location"].startswith("/login/code")
    assert "omniline_session" not in r.headers.get("set-cookie", "")
    assert (await client.get("/app")).status_code == 303  # not signed in yet

    form = await client.get("/login/code")
    assert form.status_code == 200
    csrf = form.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    bad = await client.post("/login/code", data={"code": "123456", "csrf_token": csrf})
    assert bad.status_code == 401
    assert "This code is not right" in bad.text
    ok = await client.post(
        "/login/code", data={"code": _next_code(secret), "csrf_token": csrf, "next": "/app"}
    )
    assert ok.status_code == 303 and ok.headers["location"] == "/app"
    assert (await client.get("/app")).status_code == 200


async def test_a_role_that_must_use_it_is_sent_to_set_it_up(
    client: httpx.AsyncClient, demo: Demo
) -> None:
    async with db.unit_of_work() as session:
        await totp.do_set_required_roles(session, demo.workspace_id, ["agent"])
    r = await _api(client)
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "two_factor_setup_required"

    r = await _login_page(client)
    assert r.status_code == 303 and r.headers["location"] == "/me/two-factor"
    # Nothing else until it is set up: pages send there, the API refuses.
    r = await client.get("/app")
    assert r.status_code == 303 and r.headers["location"] == "/me/two-factor"
    r = await client.get("/api/v1/conversations")
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "two_factor_setup_required"

    setup = await client.get("/me/two-factor")
    assert setup.status_code == 200
    assert "<svg" in setup.text
    key = setup.text.split('data-testid="two-factor-key">', 1)[1].split("<", 1)[0]
    csrf = setup.text.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
    done = await client.post(
        "/me/two-factor/confirm",
        data={"code": pyotp.TOTP(key).now(), "csrf_token": csrf},
    )
    assert done.status_code == 200
    assert done.text.count("-") >= 10  # the recovery codes, shown once
    assert (await client.get("/app")).status_code == 200
    # From now on the API needs the code too.
    r = await _api(client)
    assert r.json()["error"]["code"] == "two_factor_required"


@pytest.mark.parametrize("field", ["password", "code"])
async def test_turning_it_off_needs_the_password_and_a_code(
    client: httpx.AsyncClient, demo: Demo, field: str
) -> None:
    secret, _ = await _enable(demo)
    token = (await _api(client, otp=_next_code(secret))).json()["access_token"]
    page = await client.get("/me/two-factor", headers=bearer(token))
    assert 'data-testid="two-factor-on"' in page.text
    data = {"password": "demo-agent", "code": pyotp.TOTP(secret).at(time.time() + 60)}
    data[field] = "wrong-one"
    r = await client.post("/me/two-factor/disable", data=data, headers=bearer(token))
    assert r.status_code == 422
    async with db.sessionmaker()() as session:
        user = await session.get(User, demo.users["agent"])
        assert user is not None and user.totp_secret == secret


async def test_the_two_factor_secret_is_encrypted_at_rest(demo: Demo) -> None:
    from sqlalchemy import text

    secret, _ = await _enable(demo)
    async with db.sessionmaker()() as session:
        raw = await session.scalar(
            text("SELECT totp_secret FROM users WHERE id = :id"), {"id": demo.users["agent"]}
        )
    assert raw is not None and secret not in raw and raw.startswith("enc:v1:")
