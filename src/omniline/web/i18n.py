"""Gettext catalogues (English, Russian, Ukrainian) and picking a locale.

Catalogues are kept as ``.po`` files and compiled in memory at start-up, so no
build step is needed after editing a translation.
"""

from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LOCALES = ("en", "ru", "uk")
LOCALE_NAMES = {"en": "English", "ru": "Русский", "uk": "Українська"}
LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"


@lru_cache(maxsize=8)
def translations(locale: str) -> NullTranslations:
    po = LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"
    if locale == "en" or not po.exists():
        return NullTranslations()
    with po.open("rb") as fh:
        catalog = read_po(fh, locale=locale)
    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return Translations(buf)


def negotiate(accept_language: str | None, default: str = "en") -> str:
    """Pick en/ru/uk from an Accept-Language header, honouring q-values."""
    if not accept_language:
        return default
    choices: list[tuple[float, int, str]] = []
    for pos, part in enumerate(accept_language.split(",")):
        lang, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().lower().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        primary = lang.strip().lower().split("-")[0]
        if primary in LOCALES and q > 0:
            choices.append((-q, pos, primary))
    return sorted(choices)[0][2] if choices else default


def gettext(locale: str, message: str) -> str:
    return translations(locale).gettext(message)
