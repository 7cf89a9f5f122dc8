"""A letter's body: safe HTML, plain text, and the customer's own words apart from the quoted
history and the signature.

HTML is cleaned by nh3 (no scripts, styles, event handlers or javascript: links; ``cid:``
pictures kept for the viewer) and turned into text by inscriptis. Only the first
:data:`HTML_MAX` characters of a huge HTML body are cleaned, and the text is cut at
:data:`TEXT_MAX`: a 20 MB newsletter is stored as far as it is useful, and fast.
"""

from __future__ import annotations

import re

import nh3
from inscriptis import get_text

HTML_MAX = 2_000_000
TEXT_MAX = 100_000
QUOTED_MAX = 50_000
URL_SCHEMES = {"http", "https", "mailto", "tel", "cid"}

# A line that introduces quoted history: "On Mon, 3 Nov 2026, Anna <a@x> wrote:",
# "3 ноября 2026 г., Анна <a@x> написал(а):", "03.11.2026 10:00, Анна пише:".
_WROTE = re.compile(
    r"(\bwrote|написал(?:\(а\)|а)?|пишет|написав(?:\(ла\)|ла)?|пише)\s*:\s*$", re.IGNORECASE
)
# ... and starts with "On" or carries a date: "My friend wrote:" is the customer's own line.
_ON = re.compile(r"^\s*(On\b|\S.*\d)", re.IGNORECASE)
# A wrapped header starts with "On", a date or a weekday ("Mon, ", "Пн, ").
_START = re.compile(r"^\s*(On\b|\d|[^\W\d_]{2,3}[.,]\s)", re.IGNORECASE)
# Gmail in Russian leaves the verb out: "Пн, 3 нояб. 2026 г. в 10:00, Анна <a@x>:".
_DATED_ADDRESS = re.compile(r"\d{1,2}:\d{2}.{0,300}<[^<>\s]+@[^<>\s]+>\s*:\s*$")
_SEPARATOR = re.compile(
    r"^\s*-{3,}\s*(Original Message|Исходное сообщение|Оригинальное сообщение|"
    r"Вихідне повідомлення|Оригінальне повідомлення)\s*-{3,}\s*$",
    re.IGNORECASE,
)
_RULE = re.compile(r"^\s*_{10,}\s*$")
_FROM = re.compile(r"^\s*\*?(From|От|Від)\s*:\*?\s*\S", re.IGNORECASE)
_HEADER = re.compile(
    r"^\s*\*?(Sent|Date|To|Subject|Отправлено|Дата|Кому|Тема|Надіслано|Коли)\s*:", re.IGNORECASE
)
_MOBILE = re.compile(
    r"^\s*(Sent from my \w+|Get Outlook for \w+|Отправлено с (iPhone|iPad|мобильного)|"
    r"Надіслано з (iPhone|iPad))",
    re.IGNORECASE,
)


def _no_remote_images(element: str, attribute: str, value: str) -> str | None:
    """A remote image in a letter is a tracking pixel as often as not: opening the letter
    must not tell the sender an agent read it, so image sources are dropped. A picture
    that came inside the letter (``cid:``, a part of it) stays: it tells nobody anything."""
    if element == "img" and attribute == "src" and value.strip().lower().startswith("cid:"):
        return value
    if attribute in ("src", "srcset", "background") and element != "a":
        return None
    return value


def clean_html(html: str) -> tuple[str, bool]:
    """Safe HTML for a sandboxed frame; True when the input was cut at :data:`HTML_MAX`."""
    cut = len(html) > HTML_MAX
    safe = nh3.clean(html[:HTML_MAX], url_schemes=URL_SCHEMES, attribute_filter=_no_remote_images)
    return safe, cut


def html_to_text(safe_html: str) -> str:
    return get_text(safe_html).strip()


def cap(text: str, limit: int = TEXT_MAX) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def fold(text: str) -> tuple[str, str]:
    """Split a letter's text into the new part and the folded quote/signature.

    Inline answers between quoted lines are kept as they are; only what follows the
    customer's last own line is folded. When nothing of the customer's own would be left,
    the whole text stays visible.
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    cut = min(_quote_start(lines), _signature_start(lines))
    visible = "\n".join(lines[:cut]).rstrip()
    if not visible.strip():
        return text.strip(), ""
    return visible, "\n".join(lines[cut:]).strip()


def _quote_start(lines: list[str]) -> int:
    for i in range(len(lines)):
        if _is_quote_header(lines, i):
            return i
    return _trailing_quote(lines)


def _is_quote_header(lines: list[str], i: int) -> bool:
    line = lines[i]
    if _SEPARATOR.match(line):
        return True
    if _RULE.match(line) and i + 1 < len(lines) and _FROM.match(lines[i + 1]):
        return True
    if _FROM.match(line) and any(_HEADER.match(n) for n in lines[i + 1 : i + 3]):
        return True
    # Mail programs wrap a long "On ..., ... wrote:" line: look at up to three joined lines.
    for span in (1, 2, 3):
        chunk = lines[i : i + span]
        if span > 1 and not _wrapped_header(chunk):
            continue
        joined = " ".join(s.strip() for s in chunk)
        if len(joined) > 500:
            break
        if (_WROTE.search(joined) and _ON.match(joined)) or _DATED_ADDRESS.search(joined):
            return True
    return False


def _wrapped_header(chunk: list[str]) -> bool:
    """Lines that may be one header wrapped: it begins on the first of them, not later."""
    return (
        bool(_START.match(chunk[0]))
        and all(s.strip() for s in chunk)
        and not any(_START.match(s) for s in chunk[1:])
    )


def _trailing_quote(lines: list[str]) -> int:
    """Where a final block of only '>' lines (and blanks) begins; len(lines) when none."""
    start = len(lines)
    seen_quote = False
    for i in range(len(lines) - 1, -1, -1):
        stripped = lines[i].strip()
        if stripped.startswith(">"):
            seen_quote = True
            start = i
        elif stripped:
            break
    return start if seen_quote else len(lines)


def _signature_start(lines: list[str]) -> int:
    for i, line in enumerate(lines):
        if line.rstrip() == "--" or line == "-- " or _MOBILE.match(line):
            return i
    return len(lines)
