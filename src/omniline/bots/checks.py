"""Checking what a customer typed at an ask node; each answer is kept in a normal form."""

from __future__ import annotations

import re
from datetime import date, datetime

import phonenumbers

_EMAIL = re.compile(r"^[^@\s<>()\[\],;:\"]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}$")
_NUMBER = re.compile(r"^[+-]?\d{1,15}([.,]\d{1,10})?$")
_DATE_FORMATS = ("%Y-%m-%d", "%d.%m.%Y", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%y", "%d %m %Y")
# A pattern check never runs longer than this on a customer's text.
MAX_CHECKED = 1000


def check(
    kind: str,
    text: str,
    *,
    pattern: str | None = None,
    choices: list[str] | None = None,
    region: str | None = None,
) -> str | None:
    """The answer in its normal form, or None when it does not pass."""
    value = text.strip()
    if not value:
        return None
    if kind == "text":
        return value[:MAX_CHECKED]
    if kind == "phone":
        return _phone(value, region)
    if kind == "email":
        return value.lower() if _EMAIL.match(value) else None
    if kind == "number":
        compact = value.replace(" ", "").replace("\u00a0", "")
        return compact.replace(",", ".") if _NUMBER.match(compact) else None
    if kind == "date":
        return _date(value)
    if kind == "choice":
        wanted = value.casefold()
        for i, choice in enumerate(choices or []):
            if wanted in (choice.casefold(), str(i + 1)):
                return choice
        return None
    if kind == "pattern":
        if not pattern or len(value) > MAX_CHECKED:
            return None
        try:
            return value if re.fullmatch(pattern, value) else None
        except re.error:
            return None
    return None


def _phone(value: str, region: str | None) -> str | None:
    try:
        number = phonenumbers.parse(value, (region or "").upper() or None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _date(value: str) -> str | None:
    for fmt in _DATE_FORMATS:
        try:
            parsed: date = datetime.strptime(value, fmt).date()
        except ValueError:
            continue
        return parsed.isoformat()
    return None
