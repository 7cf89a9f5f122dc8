"""Variables in auto-reply texts: refused when saved if they cannot work, safe when sent."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from omniline.autoreplies import languages, templates
from omniline.errors import Invalid


@pytest.mark.parametrize(
    ("text", "kind", "message"),
    [
        ("   ", "greeting", "must not be empty"),
        ("Hello {name}", "greeting", "unknown variable {name}"),
        ("Hello {contact_name.__class__}", "greeting", "unknown variable"),
        ("Hello {position:>99999}", "high_load", "unknown variable"),
        ("Thanks, {agent_name} will call", "greeting", "has no value in a greeting message"),
        ("You were number {position}", "closing", "has no value in a closing message"),
        ("Hello { contact_name", "greeting", "lone brace"),
        ("x" * 2001, "greeting", "at most 2000 characters"),
    ],
)
def test_bad_texts_are_refused_naming_the_field(text: str, kind: str, message: str) -> None:
    with pytest.raises(Invalid) as err:
        templates.check_text("texts.0.text", text, kind)
    assert err.value.fields[0]["field"] == "texts.0.text"
    assert message in err.value.fields[0]["message"]


def test_every_variable_renders() -> None:
    text = " | ".join("{" + v + "}" for v in templates.VARIABLES)
    out = templates.render(text, templates.SAMPLE_VALUES)
    assert out == (
        "Olena Kovalenko | First line | Anna Agent | 4 | 12 | 10 | "
        "Mon-Fri 08:00-20:00 | Website chat"
    )


def test_literal_braces_and_user_text_stay_plain() -> None:
    text = templates.check_text("t", "{{ref}} Hi {contact_name}!", "greeting")
    out = templates.render(text, {"contact_name": "<b>{queue_name}</b>"})
    # Plain text, substituted once: a customer's name is never read as a variable or markup.
    assert out == "{ref} Hi <b>{queue_name}</b>!"


def test_missing_values_render_empty_not_an_error() -> None:
    assert templates.render("Hi {contact_name}, wait {wait_minutes} min", {}) == "Hi , wait  min"
    assert templates.render("{unknown} { stray", {}) == " { stray"


@given(st.text(max_size=200), st.dictionaries(st.sampled_from(templates.VARIABLES), st.text()))
def test_render_never_raises(text: str, values: dict[str, str]) -> None:
    assert isinstance(templates.render(text, values), str)


def test_language_codes() -> None:
    assert languages.normalize("UK") == "uk"
    assert languages.normalize("pt_BR") == "pt-br"
    assert languages.normalize("xx") is None
    assert languages.normalize("english") is None


@pytest.mark.parametrize(
    ("candidates", "texts", "fallback", "expected"),
    [
        (["uk", "ru", "en"], {"en": "E", "uk": "U"}, "en", "uk"),  # conversation's language
        ([None, "ru", "en"], {"en": "E", "ru": "R"}, "en", "ru"),  # else the contact's
        ([None, None, "uk"], {"en": "E", "uk": "U"}, "en", "uk"),  # else the workspace's
        (["uk-UA", None, "en"], {"en": "E", "uk": "U"}, "en", "uk"),  # primary subtag
        (["kk", "ru", "en"], {"en": "E", "ru": "R"}, "en", "en"),  # no text in kk: fallback
        (["bogus", "ru", "en"], {"en": "E", "ru": "R"}, "en", "ru"),  # unknown code skipped
    ],
)
def test_language_fallback(
    candidates: list[str | None], texts: dict[str, str], fallback: str, expected: str
) -> None:
    chosen = languages.choose(texts, languages.wanted(candidates), fallback)
    assert chosen is not None
    assert chosen[0] == expected
