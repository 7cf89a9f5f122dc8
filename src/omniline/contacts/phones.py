"""Phone numbers as one canonical form (E.164), so the same person matches across channels."""

from __future__ import annotations

import phonenumbers


def normalize_phone(raw: str | None, region: str | None = None) -> str | None:
    """ "+7 (916) 123-45-67", "79161234567" (a WhatsApp wa_id) -> "+79161234567"; junk -> None."""
    text = (raw or "").strip()
    if not text:
        return None
    digits = "".join(ch for ch in text if ch.isdigit())
    candidates = [text] if text.startswith("+") else [f"+{digits}", text]
    for candidate in candidates:
        try:
            number = phonenumbers.parse(candidate, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_possible_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return None
