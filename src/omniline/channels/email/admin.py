"""The email channel's admin form: mailbox settings, their checks and "Test connection".

SMTP is required (replies leave through it). IMAP is optional: a mailbox can also receive
letters forwarded to the built-in SMTP receiver when the installation runs one.
"""

from __future__ import annotations

import asyncio
import imaplib
import re
import socket
import ssl
from typing import Any
from urllib.parse import urlsplit

from omniline.channels.email import sender
from omniline.config import get_settings
from omniline.errors import Invalid
from omniline.inboxes.channel_types import ChannelType, SettingField, TestResult
from omniline.inboxes.models import Inbox


def N_(message: str) -> str:
    return message


DEFAULT_IMAP_PORTS = {"ssl": 993, "starttls": 143, "none": 143}
SECURITY_CHOICES = (
    ("ssl", N_("SSL/TLS")),
    ("starttls", N_("STARTTLS")),
    ("none", N_("None (only inside a trusted network)")),
)
TEST_TIMEOUT = 15.0
POLL_MIN, POLL_MAX = 10, 3600
NAME_MAX = 100
_LOCAL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+$")
_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
_HOST = re.compile(r"^[A-Za-z0-9.:\[\]-]{1,253}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

FIELDS = (
    SettingField(
        "address",
        N_("Email address"),
        "email",
        required=True,
        help=N_("The mailbox customers write to; replies are sent from it."),
    ),
    SettingField(
        "from_name",
        N_("Sender name"),
        help=N_("Shown to customers next to the address, e.g. MicroLend Support."),
    ),
    SettingField(
        "smtp_host",
        N_("SMTP server"),
        required=True,
        help=N_("Outgoing mail server, e.g. smtp.gmail.com."),
    ),
    SettingField(
        "smtp_port",
        N_("SMTP port"),
        "number",
        help=N_("Usually 465 for SSL/TLS, 587 for STARTTLS."),
        default=587,
    ),
    SettingField(
        "smtp_security",
        N_("SMTP encryption"),
        "select",
        default="starttls",
        choices=SECURITY_CHOICES,
    ),
    SettingField(
        "smtp_username",
        N_("SMTP user name"),
        help=N_("Usually the full address. Leave empty for a relay without login."),
    ),
    SettingField(
        "smtp_password",
        N_("SMTP password"),
        "secret",
        help=N_("With two-step sign-in, an app password made for Omniline."),
    ),
    SettingField(
        "imap_host",
        N_("IMAP server"),
        help=N_(
            "Incoming mail server, e.g. imap.gmail.com. Leave empty if letters "
            "are forwarded to the built-in receiver."
        ),
    ),
    SettingField(
        "imap_port",
        N_("IMAP port"),
        "number",
        default=993,
        help=N_("Usually 993 for SSL/TLS, 143 for STARTTLS."),
    ),
    SettingField(
        "imap_security", N_("IMAP encryption"), "select", default="ssl", choices=SECURITY_CHOICES
    ),
    SettingField("imap_username", N_("IMAP user name"), help=N_("Empty: the email address.")),
    SettingField("imap_password", N_("IMAP password"), "secret"),
    SettingField(
        "imap_folder",
        N_("IMAP folder"),
        default="INBOX",
        advanced=True,
        help=N_("The folder new letters arrive in."),
    ),
    SettingField(
        "poll_seconds",
        N_("Check for new mail every (seconds)"),
        "number",
        default=60,
        advanced=True,
    ),
    SettingField(
        "aliases",
        N_("Other addresses of this mailbox"),
        "textarea",
        advanced=True,
        help=N_(
            "One per line: addresses that forward into this mailbox, so letters "
            "sent to them are recognised as ours."
        ),
    ),
)


def valid_address(value: str) -> bool:
    local, at, domain = value.rpartition("@")
    if not at or not local or len(value) > 320 or not _LOCAL.match(local):
        return False
    try:
        ascii_domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        return False
    return all(_LABEL.match(label) for label in ascii_domain.split("."))


def _address(name: str, value: Any, *, required: bool) -> str:
    text = str(value or "").strip().lower()
    if not text:
        if required:
            raise Invalid(name, "must not be empty")
        return ""
    if not valid_address(text):
        raise Invalid(name, "is not a valid email address")
    return text


def _aliases(value: Any) -> list[str]:
    items = value if isinstance(value, list) else re.split(r"[\s,;]+", str(value or ""))
    found: list[str] = []
    for item in items:
        address = _address("aliases", item, required=False)
        if address and address not in found:
            found.append(address)
    return found


def _host(name: str, value: Any) -> str:
    text = str(value or "").strip()
    if text and not _HOST.match(text):
        raise Invalid(name, "is not a valid server name")
    return text


def _int(name: str, value: Any, low: int, high: int, default: int) -> int:
    if value in (None, ""):
        return default
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise Invalid(name, "must be a whole number") from None
    if number != int(number):
        raise Invalid(name, "must be a whole number")
    if not low <= number <= high:
        raise Invalid(name, f"must be between {low} and {high}")
    return int(number)


def _security(name: str, value: Any, default: str) -> str:
    text = str(value or "").strip() or default
    if text not in sender.SECURITY:
        raise Invalid(name, "must be one of ssl, starttls, none")
    return text


def _plain(name: str, value: Any, limit: int) -> str:
    text = str(value or "").strip()
    if _CONTROL.search(text):
        raise Invalid(name, "must not contain line breaks or control characters")
    if len(text) > limit:
        raise Invalid(name, f"must be at most {limit} characters long")
    return text


def _smtp(s: dict[str, Any]) -> dict[str, Any]:
    host = _host("smtp_host", s.get("smtp_host"))
    if not host:
        raise Invalid("smtp_host", "is required: replies are sent through it")
    security = _security("smtp_security", s.get("smtp_security"), "starttls")
    default_port = sender.DEFAULT_SMTP_PORTS[security]
    username = _plain("smtp_username", s.get("smtp_username"), 320)
    password = str(s.get("smtp_password") or "")
    if username and not password:
        raise Invalid("smtp_password", "must not be empty when a user name is set")
    return {
        "smtp_host": host,
        "smtp_port": _int("smtp_port", s.get("smtp_port"), 1, 65535, default_port),
        "smtp_security": security,
        "smtp_username": username,
        "smtp_password": password,
    }


def _imap(s: dict[str, Any], address: str) -> dict[str, Any]:
    host = _host("imap_host", s.get("imap_host"))
    security = _security("imap_security", s.get("imap_security"), "ssl")
    password = str(s.get("imap_password") or "")
    if host and not password:
        raise Invalid("imap_password", "must not be empty when an IMAP server is set")
    return {
        "imap_host": host,
        "imap_port": _int("imap_port", s.get("imap_port"), 1, 65535, DEFAULT_IMAP_PORTS[security]),
        "imap_security": security,
        "imap_username": _plain("imap_username", s.get("imap_username"), 320) or address,
        "imap_password": password,
        "imap_folder": _plain("imap_folder", s.get("imap_folder"), 200) or "INBOX",
        "poll_seconds": _int("poll_seconds", s.get("poll_seconds"), POLL_MIN, POLL_MAX, 60),
    }


def validate(settings: dict[str, Any]) -> dict[str, Any]:
    """Cleaned mailbox settings; raises Invalid(field, reason) on the first problem."""
    address = _address("address", settings.get("address"), required=True)
    aliases = [a for a in _aliases(settings.get("aliases")) if a != address]
    return {
        "address": address,
        "aliases": aliases,
        "from_name": _plain("from_name", settings.get("from_name"), NAME_MAX),
        **_smtp(settings),
        **_imap(settings, address),
    }


async def check_smtp(settings: dict[str, Any]) -> tuple[bool, str]:
    cfg = sender.SmtpSettings.of(settings)
    if cfg is None:
        return False, "SMTP: no server is set, replies cannot be sent"
    client = sender.smtp_client(cfg, timeout=TEST_TIMEOUT)
    try:
        await client.connect()
    except Exception as exc:
        return False, f"SMTP: {sender.describe_smtp_error(exc)[0]}"
    try:
        await client.quit()
    except Exception:
        client.close()
    how = {"ssl": "over SSL/TLS", "starttls": "with STARTTLS", "none": "without encryption"}
    login = f", logged in as {cfg.username}" if cfg.username else ", without login"
    return True, f"SMTP: connected to {cfg.host}:{cfg.port} {how[cfg.security]}{login}"


def _imap_session(s: dict[str, Any]) -> str:
    """Log in and open the folder (blocking; run in a thread). Answers what was found."""
    host, port, security = s["imap_host"], int(s["imap_port"]), s.get("imap_security", "ssl")
    conn: imaplib.IMAP4
    if security == "ssl":
        conn = imaplib.IMAP4_SSL(host, port, ssl_context=sender.tls_context(), timeout=TEST_TIMEOUT)
    else:
        conn = imaplib.IMAP4(host, port, timeout=TEST_TIMEOUT)
    try:
        if security == "starttls":
            conn.starttls(ssl_context=sender.tls_context())
        conn.login(s.get("imap_username") or s.get("address", ""), s.get("imap_password", ""))
        folder = s.get("imap_folder") or "INBOX"
        typ, data = conn.select(_quoted(folder), readonly=True)
        if typ != "OK":
            raise LookupError(folder)
        return f"folder {folder} holds {int(data[0] or 0)} letters"
    finally:
        try:
            conn.logout()
        except Exception:
            conn.shutdown()


def _quoted(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def describe_imap_error(exc: BaseException) -> str:
    if isinstance(exc, LookupError):
        return f"the folder {exc.args[0]} does not exist in this mailbox"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"the mail server's certificate is not valid: {exc.verify_message}"
    if isinstance(exc, ssl.SSLError):
        return f"the secure connection failed: {exc.reason or exc}"
    if isinstance(exc, imaplib.IMAP4.error):
        text = str(exc)
        if "AUTH" in text.upper() or "LOGIN" in text.upper() or "credentials" in text.lower():
            return f"the mail server refused the login: wrong user name or password ({text})"
        return f"the mail server answered: {text}"
    if isinstance(exc, TimeoutError | socket.timeout):
        return "the mail server did not answer in time"
    if isinstance(exc, OSError):
        return f"the mail server cannot be reached: {exc}"
    return str(exc) or exc.__class__.__name__


async def check_imap(settings: dict[str, Any]) -> tuple[bool, str]:
    try:
        found = await asyncio.to_thread(_imap_session, settings)
    except Exception as exc:
        return False, f"IMAP: {describe_imap_error(exc)}"
    return True, f"IMAP: logged in, {found}"


async def test(inbox: Inbox) -> TestResult:
    """SMTP (EHLO, STARTTLS, login), and IMAP (login, open the folder) when configured."""
    settings = inbox.settings or {}
    checks = [check_smtp(settings)]
    if settings.get("imap_host"):
        checks.append(check_imap(settings))
    results = await asyncio.gather(*checks)
    return TestResult(ok=all(ok for ok, _ in results), message=". ".join(m for _, m in results))


def setup(inbox: Inbox, base_url: str) -> list[tuple[str, str]]:
    """The addresses customers write to, and where to forward them when the built-in SMTP
    receiver runs (it takes letters for exactly these addresses)."""
    settings = inbox.settings or {}
    addresses = [str(settings.get("address") or ""), *(settings.get("aliases") or [])]
    rows = [(N_("Customers write to"), ", ".join(a for a in addresses if a))]
    port = get_settings().smtp_receiver_port
    if port:
        host = urlsplit(base_url).hostname or get_settings().smtp_receiver_host
        rows.append((N_("Forward these addresses to the built-in SMTP receiver"), f"{host}:{port}"))
    elif not settings.get("imap_host"):
        rows.append((N_("Receiving"), N_("Set an IMAP server: nothing fetches this mailbox yet.")))
    return rows


CHANNEL_TYPE = ChannelType(
    channel="email",
    label=N_("Email"),
    fields=FIELDS,
    validate=validate,
    test=test,
    setup=setup,
    description=N_(
        "A mailbox: letters become conversations, replies are sent by SMTP in the same thread."
    ),
)
