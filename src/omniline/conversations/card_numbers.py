"""Payment card numbers never reach storage: masked to the first six and last four digits.

Every message passes through :func:`mask_message_fields` on its way in (``receive``)
and out (``do_reply``, system and auto-replies): text, and string values of the
channel's details (an email's subject, quoted part and original HTML). A card number
is 13-19 digits, optionally grouped with single spaces or dashes, that passes the
Luhn check; anything else (order numbers, phone numbers) is left alone.

The cost on the hot path is a length check and one C-level pass counting digits:
a message with fewer than 13 digits (nearly all of them) never reaches the regex.
"""

from __future__ import annotations

import re
from typing import Any

MIN_DIGITS, MAX_DIGITS = 13, 19
# META key: how many card numbers were masked in this message (the agent sees a note).
MASKED_KEY = "cards_masked"
_DIGITS = "0123456789"
_DROP_DIGITS = str.maketrans("", "", _DIGITS)
_CANDIDATE = re.compile(r"(?<![\d])\d(?:[ \-]?\d){12,18}(?![\d])")


def luhn_valid(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def may_hold_card(text: str) -> bool:
    """The cheap pre-check: at least 13 digits somewhere in the text."""
    return len(text) >= MIN_DIGITS and len(text) - len(text.translate(_DROP_DIGITS)) >= MIN_DIGITS


def _mask(match: re.Match[str]) -> str:
    raw = match.group(0)
    digits = raw.replace(" ", "").replace("-", "")
    if not MIN_DIGITS <= len(digits) <= MAX_DIGITS or not luhn_valid(digits):
        return raw
    return digits[:6] + "*" * (len(digits) - 10) + digits[-4:]


def mask_cards(text: str) -> tuple[str, int]:
    """``text`` with every card number masked, and how many were."""
    if not may_hold_card(text):
        return text, 0
    count = 0

    def sub(match: re.Match[str]) -> str:
        nonlocal count
        out = _mask(match)
        if out != match.group(0):
            count += 1
        return out

    return _CANDIDATE.sub(sub, text), count


def mask_message_fields(text: str, meta: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Mask ``text`` and the string values of ``meta``; note the count in ``meta``.

    Answers the same ``meta`` object when nothing was masked (no copy on the hot path).
    """
    text, total = mask_cards(text)
    changed: dict[str, Any] = {}
    for key, value in meta.items():
        if isinstance(value, str) and may_hold_card(value):
            masked, n = mask_cards(value)
            if n:
                changed[key], total = masked, total + n
    if not total:
        return text, meta
    return text, {**meta, **changed, MASKED_KEY: int(meta.get(MASKED_KEY) or 0) + total}
