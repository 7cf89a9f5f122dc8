"""The browser sign-in flow: login form with CSRF, session cookie, CSRF on cookie writes,
safe redirects, logout and the language switch."""

from __future__ import annotations

import html
import re
from urllib.parse import urlsplit

import httpx
import pytest
from babel.messages.pofile import read_po

from omniline.web.i18n import LOCALE_DIR
from tests.conftest import Demo, bearer, visitor

AGENT = {"email": "agent@demo.omniline", "password": "demo-agent"}
SESSION = "omniline_session"
LOGIN_CSRF = "omniline_login_csrf"


def form_value(page: str, name: str) -> str:
    m = re.search(rf'<input[^>]*name="{name}"[^>]*value="([^"]*)"', page)
    assert m, f"no {name} field in the page"
    return html.unescape(m.group(1))


def meta_csrf(page: str) -> str:
    m = re.search(r'<meta name="csrf-token" content="([^"]*)"', page)
    assert m, "no csrf-token meta in the page"
    return html.unescape(m.group(1))


def set_cookie(r: httpx.Response, name: str) -> str:
    found = [c for c in r.headers.get_list("set-cookie") if c.startswith(f"{name}=")]
    assert found, f"{name} was not set: {r.headers.get_list('set-cookie')}"
    return found[-1]


async def login_form(client: httpx.AsyncClient, next_: str | None = None) -> str:
    r = await client.get("/login", params={"next": next_} if next_ else None)
    assert r.status_code == 200, r.text
    return form_value(r.text, "csrf_token")


async def sign_in(
    client: httpx.AsyncClient, next_: str | None = None, who: dict[str, str] = AGENT
) -> httpx.Response:
    token = await login_form(client)
    data = {**who, "csrf_token": token}
    if next_ is not None:
        data["next"] = next_
    return await client.post("/login", data=data)


async def app_page(client: httpx.AsyncClient) -> str:
    r = await client.get("/app")
    assert r.status_code == 200, r.text
    return r.text


async def test_login_form_carries_a_csrf_token(client: httpx.AsyncClient, demo: Demo) -> None:
    r = await client.get("/login")
    assert r.status_code == 200
    cookie = set_cookie(r, LOGIN_CSRF)
    assert "HttpOnly" in cookie
    token = form_value(r.text, "csrf_token")
    assert len(token) >= 16
    assert client.cookies[LOGIN_CSRF] == token
    # A reload keeps the same token (two tabs do not break each other).
    assert await login_form(client) == token


@pytest.mark.parametrize("csrf", [None, "", "wrong-token"], ids=["missing", "empty", "wrong"])
async def test_login_without_the_right_csrf_token(
    client: httpx.AsyncClient, demo: Demo, csrf: str | None
) -> None:
    await login_form(client)
    data = dict(AGENT)
    if csrf is not None:
        data["csrf_token"] = csrf
    r = await client.post("/login", data=data)
    assert r.status_code == 403, r.text
    assert SESSION not in client.cookies
    assert not [c for c in r.headers.get_list("set-cookie") if c.startswith(f"{SESSION}=")]


async def test_login_csrf_token_needs_its_cookie(client: httpx.AsyncClient, demo: Demo) -> None:
    """A token copied from someone's page is useless without the browser's own cookie."""
    token = await login_form(client)
    client.cookies.clear()
    r = await client.post("/login", data={**AGENT, "csrf_token": token})
    assert r.status_code == 403, r.text
    assert SESSION not in client.cookies


async def test_wrong_password_shows_the_form_again(client: httpx.AsyncClient, demo: Demo) -> None:
    token = await login_form(client)
    r = await client.post(
        "/login", data={"email": AGENT["email"], "password": "guess", "csrf_token": token}
    )
    assert r.status_code == 401, r.text
    assert "Wrong email or password" in r.text
    assert form_value(r.text, "csrf_token")  # the form can be sent again
    assert SESSION not in client.cookies
    assert (await client.get("/app")).status_code == 303


async def test_successful_login(client: httpx.AsyncClient, demo: Demo) -> None:
    r = await sign_in(client)
    assert r.status_code == 303, r.text
    assert r.headers["location"] == "/app"
    cookie = set_cookie(r, SESSION)
    assert "HttpOnly" in cookie
    assert re.search(r"SameSite=(lax|strict)", cookie, re.IGNORECASE)

    page = await app_page(client)
    csrf = meta_csrf(page)
    assert len(csrf) >= 32
    assert "Anna Agent" in page
    me = await client.get("/api/v1/me")  # the cookie works for the API too
    assert me.status_code == 200
    assert me.json()["email"] == AGENT["email"]


async def test_cookie_writes_need_the_csrf_header(client: httpx.AsyncClient, demo: Demo) -> None:
    token = await visitor(client)
    r = await client.post("/api/v1/widget/messages", json={"text": "Hi"}, headers=bearer(token))
    conv = r.json()["conversation_id"]
    await sign_in(client)
    csrf = meta_csrf(await app_page(client))
    url = f"/api/v1/conversations/{conv}/messages"

    r = await client.post(url, json={"text": "forged"})
    assert r.status_code == 403, r.text
    assert r.json()["error"]["code"] == "forbidden"
    r = await client.post(url, json={"text": "forged"}, headers={"X-CSRF-Token": "0" * 64})
    assert r.status_code == 403, r.text

    # Another person's page token does not fit this session.
    other = httpx.AsyncClient(transport=client._transport, base_url="http://testserver")
    async with other:
        await sign_in(other, who={"email": "agent2@demo.omniline", "password": "demo-agent"})
        other_csrf = meta_csrf(await app_page(other))
    r = await client.post(url, json={"text": "forged"}, headers={"X-CSRF-Token": other_csrf})
    assert r.status_code == 403, r.text

    r = await client.post(
        url, json={"text": "Hello from the browser"}, headers={"X-CSRF-Token": csrf}
    )
    assert r.status_code == 201, r.text
    assert r.json()["author"]["name"] == "Anna Agent"

    history = await client.get("/api/v1/widget/messages", headers=bearer(token))
    assert [m["text"] for m in history.json()["items"]] == ["Hi", "Hello from the browser"]


@pytest.mark.parametrize(
    ("next_", "expected"),
    [
        ("//evil.example", "/app"),
        ("//evil.example/app", "/app"),
        ("https://evil.example/app", "/app"),
        ("/\\evil.example", None),  # any answer, as long as it stays on this site
        ("javascript:alert(1)", "/app"),
        ("/app?status=queued", "/app?status=queued"),
    ],
)
async def test_next_never_leaves_the_site(
    client: httpx.AsyncClient, demo: Demo, next_: str, expected: str | None
) -> None:
    r = await sign_in(client, next_=next_)
    assert r.status_code == 303, r.text
    location = r.headers["location"]
    # Browsers read a backslash as a slash: "/\\host" would be another site.
    as_browser = location.replace("\\", "/")
    assert as_browser.startswith("/") and not as_browser.startswith("//"), location
    assert urlsplit(as_browser).netloc == ""
    if expected is not None:
        assert location == expected
        # The form carries the same decision.
        client.cookies.clear()
        r = await client.get("/login", params={"next": next_})
        assert form_value(r.text, "next") == expected


async def test_app_without_login_redirects_to_login(client: httpx.AsyncClient, demo: Demo) -> None:
    r = await client.get("/app")
    assert r.status_code == 303
    assert r.headers["location"] == "/login?next=/app"
    r = await client.get("/login", params={"next": "/app"})
    assert form_value(r.text, "next") == "/app"


async def test_logout_revokes_the_session(client: httpx.AsyncClient, demo: Demo) -> None:
    await sign_in(client)
    old = client.cookies[SESSION]
    csrf = meta_csrf(await app_page(client))

    # A cross-site form cannot log the user out.
    r = await client.post("/logout")
    assert r.status_code == 403
    assert (await client.get("/api/v1/me")).status_code == 200

    r = await client.post("/logout", data={"csrf_token": csrf})
    assert r.status_code == 303, r.text
    assert r.headers["location"] == "/login"
    assert SESSION not in client.cookies

    # The old cookie is dead on the server, not only forgotten by this browser.
    client.cookies.clear()
    stolen = {"Cookie": f"{SESSION}={old}"}
    assert (await client.get("/api/v1/me", headers=stolen)).status_code == 401
    r = await client.get("/app", headers=stolen)
    assert r.status_code == 303
    assert r.headers["location"].startswith("/login")


def translated(locale: str, msgid: str) -> str | None:
    """The catalogue's translation of ``msgid``, or None when there is no catalogue yet."""
    po = LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"
    if not po.exists():
        return None
    with po.open("rb") as fh:
        message = read_po(fh, locale=locale).get(msgid)
    assert message is not None and message.string, f"{locale} catalogue lacks {msgid!r}"
    return str(message.string)


async def test_language_switch(client: httpx.AsyncClient, demo: Demo) -> None:
    await sign_in(client)
    page = await app_page(client)
    assert '<html lang="en">' in page
    assert ">Log out<" in page
    csrf = meta_csrf(page)

    r = await client.post(
        "/me/locale",
        data={"locale": "ru", "csrf_token": csrf},
        headers={"Referer": "http://testserver/app?status=queued"},
    )
    assert r.status_code == 303, r.text
    assert r.headers["location"] == "/app?status=queued"
    assert (await client.get("/api/v1/me")).json()["locale"] == "ru"
    page = await app_page(client)
    assert '<html lang="ru">' in page
    russian = translated("ru", "Log out")
    if russian is not None:
        assert f">{russian}<" in page
        assert ">Log out<" not in page

    # An off-site referer does not turn the switch into an open redirect.
    r = await client.post(
        "/me/locale",
        data={"locale": "uk", "csrf_token": csrf},
        headers={"Referer": "https://evil.example/phish"},
    )
    assert r.status_code == 303
    assert r.headers["location"] == "/app"
    assert (await client.get("/api/v1/me")).json()["locale"] == "uk"
    ukrainian = translated("uk", "Log out")
    if ukrainian is not None:
        assert f">{ukrainian}<" in await app_page(client)

    # Unknown languages and forms without the CSRF token change nothing.
    r = await client.post("/me/locale", data={"locale": "xx", "csrf_token": csrf})
    assert r.status_code >= 400
    r = await client.post("/me/locale", data={"locale": "en"})
    assert r.status_code == 403
    assert (await client.get("/api/v1/me")).json()["locale"] == "uk"
