"""Outbound email: an agent's reply leaves as a letter through the mailbox's SMTP server.

The letter names the customer's earlier letters (In-Reply-To/References) so their mail
program shows one thread, carries the conversation's subject token, and its own Message-ID
is remembered so the customer's answer threads back into the same conversation.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hmac
import html
import re
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, formatdate
from typing import Any

import aiosmtplib
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.channels.email import threading
from omniline.channels.email.models import EmailRef
from omniline.config import get_settings
from omniline.conversations import repository
from omniline.conversations.attachments import path_of
from omniline.conversations.delivery import DeliveryResult
from omniline.conversations.models import AuthorType, Conversation, Delivery, Direction, Message
from omniline.db import after_commit
from omniline.inboxes.models import Inbox

SECURITY = ("ssl", "starttls", "none")
DEFAULT_SMTP_PORTS = {"ssl": 465, "starttls": 587, "none": 25}
TIMEOUT_SECONDS = 30.0
# Enough history for any mail program to thread; long References headers get truncated
# or refused by some servers.
REFS_KEPT = 10
# Letters the SMTP server took whose "sent" is not committed yet (message id -> Message-ID).
# When the database goes away between the server's 250 and the commit, the job runs again
# once it is back, usually in this same worker: it then records the letter instead of
# sending it twice (bench/faults.py). Entries leave at the commit.
_unrecorded: dict[int, str] = {}
_REPLY_PREFIX = re.compile(r"^\s*((re|fw|fwd|aw|sv|ha|отв|відп)\s*(\[\d+\])?\s*:\s*)+", re.I)


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    host: str
    port: int
    security: str
    username: str
    password: str

    @classmethod
    def of(cls, settings: dict[str, Any]) -> SmtpSettings | None:
        host = str(settings.get("smtp_host") or "").strip()
        if not host:
            return None
        security = str(settings.get("smtp_security") or "starttls")
        port = int(settings.get("smtp_port") or DEFAULT_SMTP_PORTS.get(security, 587))
        return cls(
            host=host,
            port=port,
            security=security,
            username=str(settings.get("smtp_username") or ""),
            password=str(settings.get("smtp_password") or ""),
        )


def tls_context() -> ssl.SSLContext:
    """The system's trusted certificates (SSL_CERT_FILE/SSL_CERT_DIR point elsewhere)."""
    return ssl.create_default_context()


def smtp_client(cfg: SmtpSettings, timeout: float = TIMEOUT_SECONDS) -> aiosmtplib.SMTP:
    """A client that says EHLO, upgrades with STARTTLS and logs in when it connects."""
    return aiosmtplib.SMTP(
        hostname=cfg.host,
        port=cfg.port,
        use_tls=cfg.security == "ssl",
        start_tls=cfg.security == "starttls",
        username=cfg.username or None,
        password=cfg.password or None,
        timeout=timeout,
        tls_context=tls_context() if cfg.security != "none" else None,
    )


def _cert_problem(exc: BaseException) -> ssl.SSLError | None:
    seen: BaseException | None = exc
    for _ in range(5):
        if seen is None:
            return None
        if isinstance(seen, ssl.SSLError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def describe_smtp_error(exc: BaseException) -> tuple[str, bool]:
    """Plain words for an agent or an admin, and whether trying again cannot help."""
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        if exc.code < 500:  # 454: the server could not check the password just now
            return f"the mail server could not check the login now: {exc.message}", False
        return (
            f"the mail server refused the login: wrong user name or password "
            f"({exc.code} {exc.message})",
            True,
        )
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused) and exc.recipients:
        exc = exc.recipients[0]
    if isinstance(exc, aiosmtplib.SMTPRecipientRefused):
        return f"the mail server refused the recipient: {exc.code} {exc.message}", exc.code >= 500
    cert = _cert_problem(exc)
    if cert is not None:
        reason = getattr(cert, "verify_message", None) or cert.reason or str(cert)
        return f"the mail server's certificate is not valid: {reason}", False
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return f"the mail server answered {exc.code} {exc.message}", exc.code >= 500
    if isinstance(exc, aiosmtplib.SMTPNotSupported) or (
        type(exc) is aiosmtplib.SMTPException and "not supported" in str(exc)
    ):
        # No STARTTLS or no AUTH offered: the settings and the server disagree.
        return f"the mail server does not support what the settings ask for: {exc}", True
    if isinstance(exc, aiosmtplib.SMTPTimeoutError | TimeoutError | asyncio.TimeoutError):
        return "the mail server did not answer in time", False
    if isinstance(exc, aiosmtplib.SMTPConnectError | aiosmtplib.SMTPServerDisconnected | OSError):
        return f"the mail server cannot be reached: {exc}", False
    if isinstance(exc, ValueError):
        return f"the letter cannot be sent: {exc}", True
    return str(exc) or exc.__class__.__name__, False


async def transmit(cfg: SmtpSettings, letter: EmailMessage, sender: str, to: str) -> None:
    """Hand one letter to the SMTP server; raises what aiosmtplib raises."""
    client = smtp_client(cfg)
    await client.connect()
    try:
        await client.send_message(letter, sender=sender, recipients=[to])
    finally:
        # The letter is accepted once DATA is answered; a failing QUIT changes nothing.
        with contextlib.suppress(Exception):
            await client.quit()
        client.close()


def _forget(message_id: int) -> None:
    _unrecorded.pop(message_id, None)


def domain_of(address: str) -> str:
    return address.rsplit("@", 1)[-1].strip().lower() or "localhost"


def new_message_id(message_id: int, address: str) -> str:
    """The same for every attempt to send one message (a letter sent again after a crash shows
    once in the customer's mail program), and not guessable from the message number (72 bits
    of an HMAC with the server's secret), so nobody can thread a letter into a conversation
    by forging a reference. Short enough never to be folded onto a second line."""
    key = get_settings().secret_key.encode()
    mac = hmac.new(key, f"email-message-id:{message_id}".encode(), "sha256").digest()
    token = base64.urlsafe_b64encode(mac[:9]).decode()
    return f"<omniline.{message_id}.{token}@{domain_of(address)}>"


def clean_subject(subject: str) -> str:
    return " ".join(_REPLY_PREFIX.sub("", subject or "").split())


def with_token(subject: str, conversation_id: int) -> str:
    token = threading.subject_token(conversation_id)
    return subject if token in subject else f"{subject} {token}".strip()


async def reply_subject(session: AsyncSession, conv: Conversation) -> str:
    """ "Re: " and the subject of the customer's latest letter, with the conversation's token."""
    rows = await session.scalars(
        select(Message.meta)
        .where(Message.conversation_id == conv.id, Message.direction == Direction.inbound.value)
        .order_by(Message.id.desc())
        .limit(50)
    )
    subject = next((str(m["subject"]) for m in rows if m and m.get("subject")), "")
    base = clean_subject(subject)
    return with_token(f"Re: {base}" if base else "Re:", conv.id)


def _bracketed(header: str) -> str:
    header = header.strip()
    return header if header.startswith("<") else f"<{header}>"


async def known_refs(session: AsyncSession, conversation_id: int) -> tuple[str | None, list[str]]:
    """(In-Reply-To, References): the customer's newest letter, and the thread, newest last."""
    rows = list(
        await session.execute(
            select(EmailRef.message_id_header, Message.direction)
            .outerjoin(Message, Message.id == EmailRef.message_id)
            .where(EmailRef.conversation_id == conversation_id)
            .order_by(EmailRef.id.desc())
            .limit(REFS_KEPT)
        )
    )
    if not rows:
        return None, []
    refs = [_bracketed(h) for h, _ in reversed(rows)]
    inbound = [h for h, d in rows if d == Direction.inbound.value]
    return _bracketed(inbound[0] if inbound else rows[0][0]), refs


def html_of(text: str) -> str:
    body = html.escape(text).replace("\r\n", "\n").replace("\n", "<br>\n")
    return f'<!DOCTYPE html>\n<html><body><div dir="auto">{body}</div></body></html>\n'


async def _attach_files(session: AsyncSession, letter: EmailMessage, message: Message) -> None:
    settings = get_settings()
    atts = (await repository.attachments_for(session, [message.id])).get(message.id, [])
    for att in atts:
        data = await asyncio.to_thread(path_of(settings, att.storage_key).read_bytes)
        maintype, _, subtype = att.content_type.partition("/")
        letter.add_attachment(
            data,
            maintype=maintype or "application",
            subtype=subtype or "octet-stream",
            filename=att.filename,
        )


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One letter to write: who it goes to, its subject and its text."""

    to: str
    subject: str
    text: str


async def compose(
    session: AsyncSession,
    message: Message,
    conv: Conversation,
    inbox: Inbox,
    out: Outgoing,
) -> EmailMessage:
    settings = inbox.settings or {}
    address = str(settings.get("address") or "").strip()
    letter = EmailMessage()
    letter["From"] = formataddr((str(settings.get("from_name") or "").strip(), address))
    letter["To"] = out.to
    letter["Subject"] = out.subject
    letter["Date"] = formatdate(localtime=False, usegmt=True)
    letter["Message-ID"] = new_message_id(message.id, address)
    in_reply_to, refs = await known_refs(session, conv.id)
    if in_reply_to:
        letter["In-Reply-To"] = in_reply_to
        letter["References"] = " ".join(refs)
    if message.author_type in (AuthorType.system.value, AuthorType.bot.value):
        # RFC 3834: other robots (auto-responders, our own inbound side) never answer it.
        letter["Auto-Submitted"] = "auto-replied"
        letter["X-Auto-Response-Suppress"] = "All"
    letter.set_content(out.text)
    letter.add_alternative(html_of(out.text), subtype="html")
    await _attach_files(session, letter, message)
    return letter


async def send_letter(
    session: AsyncSession, message: Message, conv: Conversation, inbox: Inbox, out: Outgoing
) -> DeliveryResult:
    """Compose, send through ``inbox``'s SMTP server and remember the Message-ID for ``conv``."""
    cfg = SmtpSettings.of(inbox.settings or {})
    address = str((inbox.settings or {}).get("address") or "").strip()
    if cfg is None or not address:
        error = "the mailbox has no SMTP server or address set: an admin must complete it"
        return DeliveryResult(Delivery.failed, error=error, permanent=True)
    if not out.to or "@" not in out.to:
        return DeliveryResult(
            Delivery.failed, error="the customer has no email address", permanent=True
        )
    try:
        letter = await compose(session, message, conv, inbox, out)
    except FileNotFoundError as exc:
        error = f"an attached file is missing from the storage: {exc.filename}"
        return DeliveryResult(Delivery.failed, error=error, permanent=True)
    except (OSError, ValueError) as exc:
        return DeliveryResult(Delivery.failed, error=f"the letter cannot be made: {exc}")
    msgid = str(letter["Message-ID"])
    if _unrecorded.get(message.id) != msgid:
        try:
            await transmit(cfg, letter, address, out.to)
        except Exception as exc:
            error, permanent = describe_smtp_error(exc)
            return DeliveryResult(Delivery.failed, error=error, permanent=permanent)
    _unrecorded[message.id] = msgid
    after_commit(session, lambda: _forget(message.id))
    await threading.remember(session, conv.workspace_id, msgid, conv.id, message.id)
    return DeliveryResult(Delivery.sent, external_id=msgid)


async def send(
    session: AsyncSession, message: Message, conversation: Conversation, inbox: Inbox
) -> DeliveryResult:
    """The email channel's sender (omniline.conversations.delivery)."""
    subject = await reply_subject(session, conversation)
    out = Outgoing(
        to=(conversation.contact_address or "").strip(), subject=subject, text=message.text
    )
    return await send_letter(session, message, conversation, inbox, out)
