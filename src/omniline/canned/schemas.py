"""API shapes of canned responses, and the checks on their fields."""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field
from pydantic.json_schema import JsonDict

from omniline.canned.models import SHARED_SCOPE, CannedResponse
from omniline.errors import Invalid
from omniline.kit.clock import iso
from omniline.kit.fields import SPACE, JsonIn, NotBlank

VARIABLES = ("contact_name", "agent_name", "queue_name")
TEXT_MAX = 10_000
SHORTCUT = re.compile(r"^[\w-]{1,64}$")
LANGUAGE = re.compile(r"^[a-z]{2,3}(-[a-z0-9]{2,8})?$")
PLACEHOLDER = re.compile(r"\{(\w+)\}")
# What clean_* accept, for the schema, in plain patterns (schemathesis's generator stalls on
# lookaheads): a "{" starts a placeholder only when a word and "}" follow, and a placeholder
# names a known variable.
_AFTER_BRACES = r"(?:(?:" + "|".join(VARIABLES) + r")\}|[^\w{}]|\w+(?:[^\w{}]|$)|\}|$)"
_PIECE = rf"\{{+(?:\w+\{{+)*{_AFTER_BRACES}"
_SHORTCUT: JsonDict = {"pattern": rf"^[{SPACE}]*/*[\w-]{{1,64}}[{SPACE}]*$"}
_TEXT: JsonDict = {"pattern": rf"^[{SPACE}]*(?:[^{SPACE}{{]|{_PIECE})(?:[^{{]|{_PIECE})*$"}
_TRANSLATIONS: JsonDict = {
    "propertyNames": {"pattern": rf"^[{SPACE}]*[A-Za-z]{{2,3}}(-[A-Za-z0-9]{{2,8}})?[{SPACE}]*$"},
    "additionalProperties": {"type": "string", "pattern": rf"^(?:[^{{]|{_PIECE})*$"},
}


class CannedIn(JsonIn):
    shortcut: str = Field(max_length=200, json_schema_extra=_SHORTCUT)
    title: NotBlank = Field(max_length=200)
    text: str = Field(max_length=TEXT_MAX, json_schema_extra=_TEXT)
    translations: dict[str, str] = Field(
        default_factory=dict, max_length=20, json_schema_extra=_TRANSLATIONS
    )
    shared: bool = False


class CannedPatch(JsonIn):
    shortcut: str | None = Field(default=None, max_length=200, json_schema_extra=_SHORTCUT)
    title: NotBlank | None = Field(default=None, max_length=200)
    text: str | None = Field(default=None, max_length=TEXT_MAX, json_schema_extra=_TEXT)
    translations: dict[str, str] | None = Field(
        default=None, max_length=20, json_schema_extra=_TRANSLATIONS
    )


def clean_shortcut(raw: str) -> str:
    value = raw.strip().lstrip("/").lower()
    if not value:
        raise Invalid("shortcut", "must not be empty")
    if not SHORTCUT.match(value):
        raise Invalid(
            "shortcut", "use at most 64 letters, digits, '-' or '_', without spaces, e.g. greet"
        )
    return value


def clean_title(raw: str) -> str:
    value = raw.strip()
    if not value:
        raise Invalid("title", "must not be empty")
    if len(value) > 200:
        raise Invalid("title", "must be at most 200 characters")
    return value


def clean_text(raw: str, field: str = "text") -> str:
    value = raw.strip()
    if not value:
        raise Invalid(field, "must not be empty")
    if len(value) > TEXT_MAX:
        raise Invalid(field, f"must be at most {TEXT_MAX} characters")
    for name in PLACEHOLDER.findall(value):
        if name not in VARIABLES:
            known = ", ".join("{" + v + "}" for v in VARIABLES)
            raise Invalid(field, f"unknown variable {{{name}}}; use {known}")
    return value


def clean_translations(raw: dict[str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for lang, text in raw.items():
        code = lang.strip().lower()
        if not LANGUAGE.match(code):
            raise Invalid("translations", f"{lang!r} is not a language code such as uk or ru")
        if text.strip():
            out[code] = clean_text(text, "translations")
    return out


def canned_view(c: CannedResponse) -> dict[str, Any]:
    return {
        "id": c.id,
        "shortcut": c.shortcut,
        "title": c.title,
        "text": c.text,
        "translations": dict(c.translations or {}),
        "shared": c.scope == SHARED_SCOPE,
        "owner_id": c.owner_id,
        "created_at": iso(c.created_at),
        "updated_at": iso(c.updated_at),
    }
