"""Reading one raw letter (RFC 5322 bytes) into what the inbox needs; never raises.

Broken MIME, unknown charsets and oversized bodies are read as far as they can be; what
could not be read is listed in ``Letter.problems`` (the inbound side then keeps the raw
letter as a file, so nothing the customer sent is lost).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import logging
import quopri
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.header import decode_header, make_header
from email.message import Message
from email.parser import BytesParser
from email.utils import getaddresses, parseaddr, parsedate_to_datetime

from omniline.channels.email import body
from omniline.channels.email.threading import normalize_id
from omniline.kit.bidi import neutralise

log = logging.getLogger(__name__)

MAX_PARTS = 200
SUBJECT_MAX = 998  # RFC 5322's line limit
MAX_DEPTH = 20
CONTENT_ID_MAX = 250
AUTO_PRECEDENCE = {"bulk", "junk", "list", "auto_reply"}
SYSTEM_SENDERS = {"mailer-daemon", "postmaster"}
# Technical parts of a delivery report: not the customer's words, not worth a file.
# Parts of a delivery or read report: read for the report, never kept as files.
REPORT_PARTS = {
    "message/delivery-status",
    "message/disposition-notification",
    "text/rfc822-headers",
}
RECIPIENT_HEADERS = ("Delivered-To", "X-Original-To", "To", "Cc")
# C0 controls but tab, newline and carriage return (PostgreSQL refuses NUL in text).
_CONTROLS = dict.fromkeys(c for c in range(32) if c not in (9, 10, 13))


@dataclass(slots=True)
class FilePart:
    filename: str
    content_type: str
    data: bytes
    # The part's Content-ID without its angle brackets: what ``<img src="cid:...">`` in the
    # letter's HTML names (RFC 2392).
    content_id: str | None = None


@dataclass(slots=True)
class Letter:
    message_id: str  # normalised (threading.normalize_id); "" when the letter has none
    in_reply_to: str | None = None
    references: str | None = None
    subject: str = ""
    from_address: str = ""  # lower case; "" when unreadable
    from_name: str = ""
    recipients: list[str] = field(default_factory=list)  # lower case, in header order
    sent_at: datetime | None = None
    text: str = ""  # the customer's own words
    quoted: str = ""  # quoted history and signature, folded away
    html: str | None = None  # sanitised
    auto_submitted: bool = False
    files: list[FilePart] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    bounce: Bounce | None = None
    # Parts past MAX_PARTS that were not read (the agent is told how many).
    unlisted_parts: int = 0

    def fingerprint(self, raw: bytes) -> str:
        """The id of a letter without a Message-ID: a digest of its bytes."""
        return "sha256:" + hashlib.sha256(raw).hexdigest()


@dataclass
class Bounce:
    """A delivery status notification (RFC 3464) about a letter we sent."""

    original_id: str  # the Message-ID of the letter it reports on (normalised), or ""
    failed: bool
    reason: str


def clean(value: str) -> str:
    """Text safe for any database: control characters dropped, undecodable bytes replaced."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        try:
            value = value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        except UnicodeEncodeError:
            value = value.encode("utf-8", "replace").decode("utf-8")
    return value.translate(_CONTROLS)


def parse(raw: bytes) -> Letter:
    try:
        return _parse(raw)
    except Exception as exc:  # the last resort: keep the bytes as text
        log.warning("unreadable letter (%s): kept as raw text", exc)
        text = clean(raw[: body.TEXT_MAX].decode("utf-8", "replace"))
        return Letter(message_id="", text=text, problems=[f"unreadable letter: {exc}"])


def _parse(raw: bytes) -> Letter:
    # The legacy policy: the modern one parses every header into objects, several times
    # slower, and raises on some broken ones; headers are decoded here instead.
    msg = BytesParser(policy=policy.compat32).parsebytes(raw)
    name, address = parseaddr(raw_header(msg, "From"))
    letter = Letter(
        message_id=normalize_id(header(msg, "Message-ID")),
        in_reply_to=header(msg, "In-Reply-To") or None,
        references=header(msg, "References") or None,
        subject=neutralise(" ".join(header(msg, "Subject").split())),
        from_address=clean(address).strip().lower()[:320],
        from_name=neutralise(decode_words(name)).strip()[:200],
        recipients=_recipients(msg),
        sent_at=_date(header(msg, "Date")),
    )
    if len(letter.subject) > SUBJECT_MAX:
        # The whole subject stays in the attached original letter.
        letter.problems.append(f"the subject was cut at {SUBJECT_MAX} characters")
        letter.subject = letter.subject[: SUBJECT_MAX - 1] + "…"
    if msg.defects:
        letter.problems.extend(_defects(msg))
    letter.auto_submitted = is_automatic(msg, letter.from_address)
    _read_body(msg, letter)
    if msg.get_content_type() == "multipart/report":
        letter.bounce = _bounce(msg, letter)
    return letter


def _bounce(msg: Message, letter: Letter) -> Bounce | None:
    if str(msg.get_param("report-type", "")).lower() != "delivery-status":
        return None
    actions: list[str] = []
    reasons: list[str] = []
    original = ""
    for part in msg.walk():
        ctype = part.get_content_type()
        if ctype == "message/delivery-status":
            blocks = part.get_payload()
            for block in blocks if isinstance(blocks, list) else []:
                if not isinstance(block, Message):
                    continue
                action = str(block.get("Action", "")).strip().lower()
                if action:
                    actions.append(action)
                status = str(block.get("Status", "")).strip()
                diagnostic = " ".join(str(block.get("Diagnostic-Code", "")).split())
                if action == "failed":
                    reasons.append(" ".join(x for x in (status, diagnostic) if x))
        elif ctype == "text/rfc822-headers" and not original:
            data = part.get_payload(decode=True)
            if isinstance(data, bytes):
                headers = BytesParser(policy=policy.compat32).parsebytes(data, headersonly=True)
                original = normalize_id(headers.get("Message-ID"))
        elif ctype == "message/rfc822" and not original:
            inner = part.get_payload()
            if isinstance(inner, list) and inner and isinstance(inner[0], Message):
                original = normalize_id(inner[0].get("Message-ID"))
    if not original and letter.in_reply_to:
        original = normalize_id(letter.in_reply_to)
    failed = "failed" in actions
    reason = (
        clean("; ".join(r for r in reasons if r))[:400] or "the recipient's mail server refused it"
    )
    return Bounce(original, failed, reason)


def raw_header(msg: Message, name: str) -> str:
    """A header as it was written (encoded words left as they are), or ""."""
    return next(iter(raw_headers(msg, name)), "")


def raw_headers(msg: Message, name: str) -> list[str]:
    wanted = name.lower()
    return [_unescape(str(v)) for k, v in msg.raw_items() if k.lower() == wanted]


def _unescape(value: str) -> str:
    """Raw 8-bit bytes in a header (sent without encoding, usually UTF-8) back to text."""
    try:
        value.encode("ascii")
        return value
    except UnicodeEncodeError:
        return clean(value)


def header(msg: Message, name: str) -> str:
    """A header's decoded value (encoded words decoded), unfolded; "" when absent."""
    return decode_words(raw_header(msg, name))


def decode_words(value: str) -> str:
    value = " ".join(value.split())
    if "=?" in value:
        with contextlib.suppress(Exception):  # a broken encoded word stays as written
            value = str(make_header(decode_header(value)))
    return clean(value)


def _recipients(msg: Message) -> list[str]:
    values = [v for name in RECIPIENT_HEADERS for v in raw_headers(msg, name)]
    found = [addr.strip().lower() for _, addr in getaddresses(values) if "@" in addr]
    return list(dict.fromkeys(clean(f) for f in found))


def _date(value: str) -> datetime | None:
    try:
        sent = parsedate_to_datetime(value) if value else None
    except (TypeError, ValueError, IndexError):
        return None
    if sent is not None and sent.tzinfo is None:
        sent = sent.replace(tzinfo=UTC)
    return sent


def _defects(msg: Message) -> list[str]:
    return [f"{type(d).__name__}" for d in msg.defects][:5]


def is_automatic(msg: Message, from_address: str) -> bool:
    """An auto-reply, a bounce or bulk mail: answering it could start a mail loop (RFC 3834)."""
    auto = header(msg, "Auto-Submitted").split(";")[0].strip().lower()
    if auto and auto != "no":
        return True
    if header(msg, "Precedence").strip().lower() in AUTO_PRECEDENCE:
        return True
    for name in ("X-Autoreply", "X-Autorespond", "X-Autoresponder"):
        value = header(msg, name).strip().lower()
        if value and value != "no":
            return True
    if from_address.partition("@")[0] in SYSTEM_SENDERS:
        return True
    if header(msg, "Return-Path").strip() == "<>":  # the null sender: a delivery report
        return True
    return msg.get_content_type() == "multipart/report"


def _leaves(part: Message, depth: int = 0) -> list[Message]:
    """The parts that carry content; an attached letter is one part (a file). Parts nested
    deeper than ``MAX_DEPTH`` are read flat (no text is dropped for being deep)."""
    if depth > MAX_DEPTH:
        return [p for p in part.walk() if not p.is_multipart()]
    if part.get_content_type() == "message/rfc822" and depth > 0:
        return [part]
    if part.is_multipart():
        payload = part.get_payload()
        subparts = (
            [p for p in payload if isinstance(p, Message)] if isinstance(payload, list) else []
        )
        return [leaf for sub in subparts for leaf in _leaves(sub, depth + 1)]
    return [part]


def _deeper_than(msg: Message, limit: int) -> bool:
    stack = [(msg, 0)]
    while stack:
        part, depth = stack.pop()
        if depth > limit:
            return True
        payload = part.get_payload() if part.is_multipart() else None
        if isinstance(payload, list):
            stack.extend((p, depth + 1) for p in payload if isinstance(p, Message))
    return False


def _read_body(msg: Message, letter: Letter) -> None:
    plain: list[str] = []
    html: str | None = None
    leaves = _leaves(msg)
    if _deeper_than(msg, MAX_DEPTH):
        letter.problems.append(f"parts nested deeper than {MAX_DEPTH} levels were read flat")
    if len(leaves) > MAX_PARTS:
        letter.problems.append(f"{len(leaves)} parts: only the first {MAX_PARTS} were read")
        letter.unlisted_parts = len(leaves) - MAX_PARTS
        leaves = leaves[:MAX_PARTS]
    for part in leaves:
        try:
            html = _take_part(part, letter, plain, html)
        except Exception as exc:
            letter.problems.append(f"a part could not be read: {exc}")
    _set_text(letter, "\n\n".join(p for p in plain if p.strip()), html)


def _take_part(part: Message, letter: Letter, plain: list[str], html: str | None) -> str | None:
    ctype = part.get_content_type()
    if ctype in REPORT_PARTS:
        return html
    filename = _filename(part)
    is_file = part.get_content_disposition() == "attachment" or filename is not None
    if ctype == "message/rfc822":
        letter.files.append(_attached_letter(part, filename))
    elif ctype == "text/plain" and not is_file:
        plain.append(_decode(part, letter))
    elif ctype == "text/html" and not is_file and html is None:
        return _decode(part, letter)
    elif ctype.startswith("multipart/"):
        return html  # an empty container
    else:
        data = part.get_payload(decode=True)
        if isinstance(data, bytes) and data:
            name = filename or _default_name(ctype)
            letter.files.append(FilePart(name, ctype, data, _content_id(part)))
    return html


def _content_id(part: Message) -> str | None:
    value = clean(" ".join(raw_header(part, "Content-ID").split())).strip()
    if value.startswith("<") and value.endswith(">"):
        value = value[1:-1].strip()
    return value[:CONTENT_ID_MAX] or None


def _filename(part: Message) -> str | None:
    try:
        name = part.get_filename()
    except Exception:
        return "file"
    return clean(name) if name else None


def _default_name(ctype: str) -> str:
    return "file." + (ctype.split("/")[-1][:10] or "bin")


def _attached_letter(part: Message, filename: str | None) -> FilePart:
    """A forwarded letter: kept as an .eml file (plain text, so any mail program opens it)."""
    payload = part.get_payload()
    inner = payload[0] if isinstance(payload, list) and payload else None
    data = inner.as_bytes(policy=policy.compat32) if isinstance(inner, Message) else b""
    encoding = str(part.get("Content-Transfer-Encoding") or "").strip().lower()
    if encoding in ("base64", "quoted-printable") and isinstance(inner, Message):
        # Not allowed for message/rfc822, but some mail programs do it: the parser then
        # sees the encoded text as a letter without headers.
        encoded = str(inner.get_payload()).encode("ascii", "replace")
        data = base64.b64decode(encoded) if encoding == "base64" else quopri.decodestring(encoded)
    name = filename or "forwarded.eml"
    return FilePart(name if name.endswith(".eml") else name + ".eml", "text/plain", data)


def _decode(part: Message, letter: Letter) -> str:
    data = part.get_payload(decode=True)
    if not isinstance(data, bytes):
        return ""
    charset = part.get_content_charset() or "utf-8"
    try:
        return clean(data.decode(charset))
    except (LookupError, UnicodeDecodeError):
        pass
    try:
        return clean(data.decode("utf-8"))
    except UnicodeDecodeError:
        letter.problems.append(f"text in an unknown or wrong charset ({charset[:40]})")
        return clean(data.decode("utf-8", "replace"))


def _set_text(letter: Letter, plain: str, html: str | None) -> None:
    safe: str | None = None
    if html is not None:
        safe, cut = body.clean_html(html)
        if cut:
            letter.problems.append(f"the HTML body was cut at {body.HTML_MAX:,} characters")
        letter.html = safe
    text = plain if plain.strip() or safe is None else body.html_to_text(safe)
    if len(text) > body.TEXT_MAX:
        letter.problems.append(f"the text was cut at {body.TEXT_MAX:,} characters")
    visible, quoted = body.fold(body.cap(text))
    letter.text = visible
    letter.quoted = body.cap(quoted, body.QUOTED_MAX)
