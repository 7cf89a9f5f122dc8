"""Russian and Ukrainian identity and tax numbers: kept, but shown masked to most roles.

Unlike card numbers these are stored (an agent may have to check them), and masked
when shown: in the staff API and realtime for roles without the permission
(``auth.access.may_see_documents``), in outgoing webhooks, and in log records
(``DocumentLogFilter``). Checksums keep ordinary numbers (order ids, phones) readable:

- RU INN: 10 or 12 digits with valid check digits;
- UA RNOKPP (tax number): 10 digits with a valid check digit;
- RU passport: series and number written "45 06 123456" (no checksum exists, so only
  this grouped form, or 10 digits right after the word "паспорт"/"passport");
- UA passport booklet: two Cyrillic capitals and six digits, "АА123456";
- UA ID card: 9 digits right after "ID", "ІД", "картк", "паспорт" or "passport".

A masked number keeps its last two digits: "** ** ****56".
"""

from __future__ import annotations

import logging
import re

_DROP_DIGITS = str.maketrans("", "", "0123456789")
_KEYWORD = r"(?:паспорт\w*|passport|id|ід|id-картк\w*|картк\w*)"
_PATTERNS = [
    # (regex, needs checksum) - the checksum decides for bare 10/12 digits only.
    (re.compile(r"(?<![\d])\d{2} \d{2} \d{6}(?![\d])"), False),
    (re.compile(r"(?<![\w])[А-ЯІЇЄҐ]{2} ?\d{6}(?![\d])"), False),
    (
        re.compile(rf"(?i)(?<![\w]){_KEYWORD}[\s:№#N]{{1,4}}(\d{{4}} ?\d{{6}}|\d{{9}})(?![\d])"),
        False,
    ),
    (re.compile(r"(?<![\d])(\d{12}|\d{10})(?![\d])"), True),
]
_INN10 = (2, 4, 10, 3, 5, 9, 4, 6, 8)
_INN11 = (7, 2, 4, 10, 3, 5, 9, 4, 6, 8)
_INN12 = (3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8)
_RNOKPP = (-1, 5, 7, 9, 4, 6, 10, 5, 7)


def _check(digits: str, weights: tuple[int, ...]) -> int:
    return sum(int(d) * w for d, w in zip(digits, weights, strict=False)) % 11 % 10


def tax_number_valid(digits: str) -> bool:
    """A valid RU INN (10 or 12 digits) or UA RNOKPP (10 digits)."""
    if len(digits) == 10:
        last = int(digits[9])
        return _check(digits, _INN10) == last or _check(digits, _RNOKPP) == last
    if len(digits) == 12:
        return _check(digits, _INN11) == int(digits[10]) and _check(digits, _INN12) == int(
            digits[11]
        )
    return False


def _hide(number: str) -> str:
    """Every digit but the last two becomes '*'; letters and spaces stay."""
    seen = len(number) - len(number.translate(_DROP_DIGITS))
    out, i = [], 0
    for ch in number:
        if ch.isdigit():
            i += 1
            out.append(ch if i > seen - 2 else "*")
        elif ch.isalpha() and ch.isupper():
            out.append("*")
        else:
            out.append(ch)
    return "".join(out)


def mask_documents(text: str) -> str:
    """``text`` with every recognised passport, ID card and tax number masked."""
    if len(text) < 8 or len(text) - len(text.translate(_DROP_DIGITS)) < 6:
        return text
    for pattern, checksum in _PATTERNS:

        def sub(m: re.Match[str], checksum: bool = checksum) -> str:
            whole = m.group(0)
            number = m.group(m.lastindex or 0)
            if checksum and not tax_number_valid(number):
                return whole
            return whole[: m.start(m.lastindex or 0) - m.start()] + _hide(number)

        text = pattern.sub(sub, text)
    return text


class DocumentLogFilter(logging.Filter):
    """Masks card and document numbers in a log record's final message."""

    def filter(self, record: logging.LogRecord) -> bool:
        from omniline.conversations.card_numbers import mask_cards

        message = record.getMessage()
        masked = mask_documents(mask_cards(message)[0])
        if masked != message:
            record.msg, record.args = masked, None
        return True


_installed = False


def install_log_masking() -> None:
    """Mask card and document numbers in every log record of the process (idempotent).

    A record factory rather than a handler filter: it covers the handlers uvicorn and
    the worker configure, and records are only made for levels that are enabled.
    """
    global _installed
    if _installed:
        return
    _installed = True
    make = logging.getLogRecordFactory()
    masker = DocumentLogFilter()

    def factory(*args: object, **kwargs: object) -> logging.LogRecord:
        record = make(*args, **kwargs)
        masker.filter(record)
        return record

    logging.setLogRecordFactory(factory)
