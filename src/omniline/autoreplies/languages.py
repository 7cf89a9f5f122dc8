"""Language codes of auto-reply texts and the choice of the text a customer gets."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import lru_cache

from babel import Locale, UnknownLocaleError

_CODE = re.compile(r"^[a-z]{2,3}(-[a-z0-9]{2,4})?$")


@lru_cache(maxsize=512)
def normalize(code: str | None) -> str | None:
    """``"uk"``, ``"pt-BR"`` -> ``"uk"``, ``"pt-br"``; None for a code CLDR does not know."""
    raw = (code or "").strip().replace("_", "-").lower()
    if not raw or len(raw) > 8 or not _CODE.match(raw):
        return None
    try:
        Locale.parse(raw, sep="-")
    except (UnknownLocaleError, ValueError):
        return None
    return raw


def primary(code: str) -> str:
    return code.split("-")[0]


def wanted(candidates: Iterable[str | None]) -> str | None:
    """The first known language of: conversation, contact (holds the widget locale), workspace."""
    for c in candidates:
        code = normalize(c)
        if code:
            return code
    return None


def choose(texts: Mapping[str, str], want: str | None, fallback: str) -> tuple[str, str] | None:
    """(language, text): the wanted language, else its primary language, else the fallback."""
    tries = [want, primary(want)] if want else []
    tries.append(fallback)
    for lang in tries:
        if lang and lang in texts:
            return lang, texts[lang]
    if texts:  # a fallback text removed by hand in the database: still answer something
        lang = sorted(texts)[0]
        return lang, texts[lang]
    return None
