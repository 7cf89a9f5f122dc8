"""Translations: complete catalogues, pages in the visitor's or the user's language, and
picking a language from Accept-Language.

Expected words are read from the .po files, never written here, so retranslating a message
does not break these tests; a message left untranslated does.
"""

from __future__ import annotations

import gettext as stdlib_gettext
import json
import re
from functools import cache
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from omniline.web.i18n import LOCALE_DIR, LOCALES, negotiate
from tests.conftest import Demo

REPO = Path(__file__).resolve().parents[2]
POT = LOCALE_DIR / "messages.pot"
TRANSLATED = ("ru", "uk")
# The keywords `make messages` extracts with (see the Makefile).
KEYWORDS: dict[str, Any] = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}
# Russian and Ukrainian plural forms: 0 "one" (1, 21, 101), 1 "few" (2-4, 22-24), 2 "many".
PLURAL_SAMPLES = {0: (1, 21, 101), 1: (2, 3, 4, 22, 24), 2: (0, 5, 11, 12, 14, 20, 25, 111, 112)}
PRINTF = re.compile(r"%\([^)]*\)[a-zA-Z]")
BRACES = re.compile(r"\{[^{}]*\}")


@pytest.fixture(autouse=True)
def fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cheap Argon2 for the demo seed; verification reads the cost from each stored hash."""
    monkeypatch.setattr(
        "omniline.auth.passwords._hasher",
        PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1),
    )


# ---------------------------------------------------------------- catalogues


def _read(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as fh:
        return read_po(fh, locale=locale)


@cache
def catalogue(locale: str) -> Catalog:
    return _read(LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po", locale)


@cache
def template() -> Catalog:
    return _read(POT)


def translate(locale: str, msgid: str) -> str:
    """The catalogue's translation of a message, checked to exist and to differ from English."""
    message = catalogue(locale).get(msgid)
    assert message is not None, f"{msgid!r} is not in the {locale} catalogue"
    assert isinstance(message.string, str) and message.string, f"{msgid!r} has no {locale} text"
    assert message.string != msgid, f"{msgid!r} is not translated into {locale}"
    return message.string


def _forms(value: str | tuple[str, ...] | list[str] | None) -> list[str]:
    if value is None:
        return [""]
    return [value] if isinstance(value, str) else list(value)


def _placeholders(text: str) -> tuple[set[str], set[str], int]:
    """%(name)s and {name} placeholders, and how many literal {{ }} pairs (auto-reply help)."""
    literal = text.count("{{") + text.count("}}")
    braces = BRACES.findall(text.replace("{{", "").replace("}}", ""))
    return set(PRINTF.findall(text)), set(braces), literal


def _msgids() -> list[str]:
    return [m.id if isinstance(m.id, str) else m.id[0] for m in template() if m.id]


def test_template_lists_messages() -> None:
    # Far fewer would mean the extraction (babel.cfg, keywords) lost templates or Python files.
    ids = _msgids()
    assert len(ids) > 200
    assert "Send" in ids  # widget/frame.html
    assert "Wrong email or password." in ids  # auth/pages.py, marked with N_


def test_template_is_current() -> None:
    """The .pot holds what the sources mark now: run `make messages` after changing them."""
    with (REPO / "babel.cfg").open(encoding="utf-8") as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    found: set[str | tuple[str, ...]] = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        REPO, method_map, options_map, keywords=KEYWORDS
    ):
        found.add(message if isinstance(message, str) else tuple(message))
    listed = {m.id if isinstance(m.id, str) else tuple(m.id) for m in template() if m.id}
    assert found - listed == set(), "marked in the sources but missing from messages.pot"
    assert listed - found == set(), "in messages.pot but no longer in the sources"


@pytest.mark.parametrize("locale", TRANSLATED)
def test_plural_forms_header(locale: str) -> None:
    cat = catalogue(locale)
    assert cat.num_plurals == 3
    plural = stdlib_gettext.c2py(cat.plural_expr)
    for form, numbers in PLURAL_SAMPLES.items():
        assert [plural(n) for n in numbers] == [form] * len(numbers), numbers
    assert not cat.fuzzy, "the header entry is marked fuzzy"


@pytest.mark.parametrize("locale", TRANSLATED)
def test_every_message_is_translated(locale: str) -> None:
    cat = catalogue(locale)
    problems: list[str] = []
    for tmpl in template():
        if not tmpl.id:
            continue
        message: Message | None = cat.get(tmpl.id)
        if message is None:
            problems.append(f"missing: {tmpl.id!r}")
            continue
        strings = _forms(message.string)
        if message.fuzzy:
            problems.append(f"fuzzy: {tmpl.id!r}")
        if not all(s.strip() for s in strings):
            problems.append(f"untranslated: {tmpl.id!r}")
        if message.pluralizable and len(strings) != cat.num_plurals:
            problems.append(f"{len(strings)} plural forms instead of 3: {tmpl.id!r}")
    assert problems == [], f"{locale}: run `make messages` and translate:\n" + "\n".join(problems)


@pytest.mark.parametrize("locale", TRANSLATED)
def test_placeholders_are_kept(locale: str) -> None:
    cat = catalogue(locale)
    problems: list[str] = []
    for message in cat:
        if not message.id or message.fuzzy:
            continue
        ids = _forms(message.id)
        expected = _placeholders(ids[-1])  # the plural msgid when there is one
        for text in _forms(message.string):
            if text and _placeholders(text) != expected:
                problems.append(f"{ids[0]!r} -> {text!r}")
    assert problems == [], f"{locale}: placeholders differ:\n" + "\n".join(problems)


@pytest.mark.parametrize("locale", TRANSLATED)
def test_translations_survive_newstyle_formatting(locale: str) -> None:
    """Newstyle gettext always applies `%`: a literal percent sign must be written `%%`."""
    problems: list[str] = []
    for message in catalogue(locale):
        if not message.id or message.fuzzy:
            continue
        for text in _forms(message.id) + _forms(message.string):
            values: dict[str, object] = {name[2:-2]: "x" for name in PRINTF.findall(text)}
            values["num"] = 1  # ngettext's implicit count
            try:
                text % values
            except (ValueError, TypeError, KeyError) as exc:
                problems.append(f"{text!r}: {exc}")
    assert problems == [], "\n".join(problems)


# ---------------------------------------------------------------- pages


class _Page(HTMLParser):
    """Just what these tests read from a page: <html lang>, inputs, JSON script blocks."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.lang: str | None = None
        self.inputs: dict[str, list[str]] = {}
        self.scripts: dict[str, str] = {}
        self._script: str | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "html":
            self.lang = a.get("lang")
        elif tag == "input" and "name" in a:
            self.inputs.setdefault(a["name"], []).append(a.get("value", ""))
        elif tag == "script" and a.get("type") == "application/json" and a.get("id"):
            self._script = a["id"]
            self.scripts[self._script] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._script = None

    def handle_data(self, data: str) -> None:
        if self._script:
            self.scripts[self._script] += data

    def json(self, script_id: str) -> Any:
        return json.loads(self.scripts[script_id])


async def _frame(client: httpx.AsyncClient, demo: Demo, accept_language: str) -> _Page:
    headers = {"Accept-Language": accept_language}
    r = await client.get("/widget/frame", params={"key": demo.inbox_key}, headers=headers)
    assert r.status_code == 200, r.text
    return _Page(r.text)


@pytest.mark.parametrize(
    ("accept_language", "locale"),
    [("uk-UA,uk;q=0.9", "uk"), ("ru", "ru"), ("de", "en"), ("de-DE,de;q=0.9,ru;q=0.5", "ru")],
)
async def test_widget_frame_speaks_the_visitors_language(
    client: httpx.AsyncClient, demo: Demo, accept_language: str, locale: str
) -> None:
    page = await _frame(client, demo, accept_language)
    strings = page.json("omniline-i18n")
    assert page.lang == locale
    assert page.json("omniline-config")["locale"] == locale
    send = "Send" if locale == "en" else translate(locale, "Send")
    assert strings["send"] == send
    if locale == "en":
        assert strings["close"] == "Close chat"
    else:
        assert strings["close"] == translate(locale, "Close chat")
        # JS fills {n} itself: the placeholder survives the server's %(n)s formatting.
        assert strings["unread"] == translate(locale, "Unread messages: %(n)s") % {"n": "{n}"}
        assert "{n}" in strings["unread"]


async def test_widget_frame_in_ukrainian_has_no_english_left(
    client: httpx.AsyncClient, demo: Demo
) -> None:
    strings = (await _frame(client, demo, "uk-UA,uk;q=0.9")).json("omniline-i18n")
    english = (await _frame(client, demo, "de")).json("omniline-i18n")
    assert strings.keys() == english.keys()
    same = [k for k in strings if strings[k] == english[k]]
    assert same == []


async def _login(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    """The real form: the CSRF token in the page must match the one in the cookie."""
    r = await client.get("/login")
    assert r.status_code == 200
    (token,) = _Page(r.text).inputs["csrf_token"]
    assert token and client.cookies.get("omniline_login_csrf") == token
    return await client.post(
        "/login", data={"email": email, "password": password, "csrf_token": token}
    )


async def test_staff_page_follows_the_users_language(client: httpx.AsyncClient, demo: Demo) -> None:
    r = await _login(client, "agent@demo.omniline", "demo-agent")
    assert r.status_code == 303, r.text
    assert r.headers["location"] == "/app"

    r = await client.get("/app")
    assert r.status_code == 200
    page = _Page(r.text)
    assert page.lang == "en"  # the demo agent starts in English
    assert page.json("i18n")["send_reply"] == "Send"
    csrf = page.inputs["csrf_token"][0]

    r = await client.post("/me/locale", data={"locale": "ru", "csrf_token": csrf})
    assert r.status_code == 303, r.text

    r = await client.get("/app", headers={"Accept-Language": "uk"})  # the user's choice wins
    assert r.status_code == 200
    page = _Page(r.text)
    assert '<html lang="ru">' in r.text
    assert page.lang == "ru"
    assert translate("ru", "Conversations") in r.text
    strings = page.json("i18n")
    assert strings["send_reply"] == translate("ru", "Send")
    assert strings["status_resolved"] == translate("ru", "Resolved")
    assert strings["ev_resolved_by"] == translate("ru", "Resolved by {actor}")
    assert page.json("bootstrap")["user"]["locale"] == "ru"


async def test_locale_change_needs_the_csrf_token(client: httpx.AsyncClient, demo: Demo) -> None:
    assert (await _login(client, "agent@demo.omniline", "demo-agent")).status_code == 303
    r = await client.post("/me/locale", data={"locale": "ru", "csrf_token": "forged"})
    assert r.status_code == 403
    r = await client.get("/app")
    assert _Page(r.text).lang == "en"


async def test_login_error_is_translated(client: httpx.AsyncClient, demo: Demo) -> None:
    """Messages marked with N_ in Python are translated when the page renders."""
    r = await client.get("/login", headers={"Accept-Language": "uk"})
    (token,) = _Page(r.text).inputs["csrf_token"]
    assert _Page(r.text).lang == "uk"
    assert translate("uk", "Sign in") in r.text
    r = await client.post(
        "/login",
        data={"email": "agent@demo.omniline", "password": "wrong", "csrf_token": token},
        headers={"Accept-Language": "uk"},
    )
    assert r.status_code == 401
    assert translate("uk", "Wrong email or password.") in r.text


# ---------------------------------------------------------------- negotiate()


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("uk-UA,uk;q=0.9", "uk"),
        ("ru-RU", "ru"),
        ("RU", "ru"),
        ("en-GB,en;q=0.9", "en"),
        # the highest q wins, wherever it is
        ("en;q=0.5,uk;q=0.7", "uk"),
        ("de-DE,de;q=0.9,ru;q=0.8,en;q=0.5", "ru"),
        ("en-US;q=0.8, ru;q=0.9", "ru"),
        ("uk;q=0.2 , ru ; q=0.3", "ru"),
        ("ru;q=0.4,uk", "uk"),  # no q means q=1
        ("ru;q=1.0,uk;q=1", "ru"),
        # equal q: the first listed wins
        ("ru,uk", "ru"),
        ("uk;q=0.5,ru;q=0.5", "uk"),
        # q=0 means "not this one"
        ("uk;q=0,en", "en"),
        ("ru;q=0,de", "en"),
        # a malformed q counts as 0
        ("uk;q=abc,ru;q=0.1", "ru"),
        # nothing we speak
        ("de, fr;q=0.9", "en"),
        ("*", "en"),
    ],
)
def test_negotiate(header: str, expected: str) -> None:
    assert negotiate(header) == expected


@pytest.mark.parametrize("header", [None, "", "de", "uk;q=0", "ru;q=0.0"])
def test_negotiate_falls_back_to_the_default(header: str | None) -> None:
    assert negotiate(header) == "en"
    assert negotiate(header, default="uk") == "uk"


def test_negotiate_only_returns_known_locales() -> None:
    assert negotiate("uk") in LOCALES
    assert negotiate("pl,cs;q=0.9", default="ru") == "ru"


def test_negotiate_reads_an_upper_case_q() -> None:
    assert negotiate("uk;Q=0.1,ru;q=0.5") == "ru"
