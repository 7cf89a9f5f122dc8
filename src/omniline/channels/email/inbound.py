"""Raw letters -> stored customer messages, for the IMAP poller and the SMTP receiver alike.

:func:`prepare` reads letters and writes their files (plain CPU and disk work: run it in a
thread); :func:`store` threads them and stores them in the caller's transaction.

What a stored letter carries (``Message``):
- ``external_id``: the normalised Message-ID (a ``sha256:`` digest of the letter when it has
  none, or when the id is too long), so a letter fetched twice is stored once;
- ``text``: the customer's own words; ``meta["quoted"]`` the folded history and signature,
  ``meta["html"]`` the whole sanitised HTML, ``meta["subject"]`` the subject;
- ``meta["auto_submitted"] = True`` for auto-replies and bounces (never answered);
- ``meta["media_failed"]``: files that were refused (size/type), with the reason;
- ``meta["email"]``: ``message_id`` (normalised), ``references`` (the thread's ids, oldest
  first), ``to`` (the letter's recipients) and ``date`` (the Date header, ISO 8601):
  what a reply needs for its In-Reply-To and References.
A letter that could not be fully read also gets its raw bytes as ``original.eml``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.channels.email import threading
from omniline.channels.email.models import EmailRef
from omniline.channels.email.parse import Letter, parse
from omniline.config import Settings
from omniline.conversations import attachments, inline_parts
from omniline.conversations.attachments import StoredFile
from omniline.conversations.delivery import update_delivery_status
from omniline.conversations.inbound import InboundMessage
from omniline.conversations.models import Delivery, Message
from omniline.conversations.service import Received, receive_inbound
from omniline.errors import DomainError
from omniline.inboxes.models import Inbox

log = logging.getLogger(__name__)

CHANNEL = "email"
EXTERNAL_ID_MAX = 200
UNKNOWN_SENDER = "unknown-sender@invalid"
RAW_NAME = "original.eml"


@dataclass(slots=True)
class Mailbox:
    """What storing a letter needs to know of its email inbox."""

    inbox_id: int
    workspace_id: int
    address: str
    aliases: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, inbox: Inbox) -> Mailbox:
        s = inbox.settings or {}
        aliases = s.get("aliases") or []
        if isinstance(aliases, str):
            aliases = [a for a in aliases.replace(",", "\n").split() if a]
        return cls(
            inbox.id,
            inbox.workspace_id,
            str(s.get("address") or "").strip().lower(),
            [str(a).strip().lower() for a in aliases if str(a).strip()],
        )

    @property
    def addresses(self) -> list[str]:
        return [a for a in [self.address, *self.aliases] if a]


@dataclass(slots=True)
class Incoming:
    """One raw letter; ``to_address`` and ``mail_from`` come from an SMTP envelope."""

    raw: bytes
    to_address: str | None = None
    mail_from: str | None = None


@dataclass(slots=True)
class Prepared:
    letter: Letter
    item: InboundMessage


def prepare(box: Mailbox, incoming: Sequence[Incoming], settings: Settings) -> list[Prepared]:
    """Read the letters and store their files; never raises for a bad letter."""
    return [_prepare_one(box, inc, settings) for inc in incoming]


def _prepare_one(box: Mailbox, inc: Incoming, settings: Settings) -> Prepared:
    letter = parse(inc.raw)
    files, failed = _store_files(box, letter, inc.raw, settings)
    sender = letter.from_address or (inc.mail_from or "").strip().lower() or UNKNOWN_SENDER
    item = InboundMessage(
        workspace_id=box.workspace_id,
        inbox_id=box.inbox_id,
        text=letter.text or letter.subject,
        external_id=_external_id(letter, inc.raw),
        sender_address=sender,
        # Without a display name, staff see the address rather than "Visitor #12".
        sender_name=letter.from_name or (sender if sender != UNKNOWN_SENDER else None),
        attachments=files,
        to_address=inc.to_address or _to_address(box, letter),
        meta=_meta(letter, failed),
        contact_email=sender if sender != UNKNOWN_SENDER else None,
    )
    return Prepared(letter, item)


def _external_id(letter: Letter, raw: bytes) -> str:
    if letter.message_id and len(letter.message_id) <= EXTERNAL_ID_MAX:
        return letter.message_id
    return letter.fingerprint(letter.message_id.encode() if letter.message_id else raw)


def _to_address(box: Mailbox, letter: Letter) -> str | None:
    """The inbox address the letter was sent to; the main address when none is named
    (a blind copy, a forward from another mailbox)."""
    ours = set(box.addresses)
    return next((r for r in letter.recipients if r in ours), box.address or None)


def _meta(letter: Letter, failed: list[dict[str, str]]) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    if letter.subject:
        meta["subject"] = letter.subject
    if letter.html:
        meta["html"] = letter.html
    if letter.quoted:
        meta["quoted"] = letter.quoted
    if letter.auto_submitted:
        meta["auto_submitted"] = True
    if failed:
        meta["media_failed"] = failed
    if letter.problems:
        # The agent is told; what could be read is shown and the letter is attached whole.
        meta["not_fully_read"] = True
    if letter.unlisted_parts:
        meta["files_not_listed"] = letter.unlisted_parts
    refs = threading.ids_in(letter.references)
    refs += [r for r in threading.ids_in(letter.in_reply_to) if r not in refs]
    meta[CHANNEL] = {
        "message_id": letter.message_id or None,
        "references": refs[-20:],
        "to": letter.recipients[:20],
        "date": letter.sent_at.isoformat() if letter.sent_at else None,
    }
    return meta


def _store_files(
    box: Mailbox, letter: Letter, raw: bytes, settings: Settings
) -> tuple[list[StoredFile], list[dict[str, str]]]:
    stored: list[StoredFile] = []
    failed: list[dict[str, str]] = []
    # A part the HTML shows as a picture is marked, so it is shown there and not as a file.
    shown = inline_parts.cid_references(letter.html) if letter.html else set()
    wanted = [
        (f.filename, f.content_type, f.data, f.content_id if f.content_id in shown else None)
        for f in letter.files
    ]
    if letter.problems:
        log.info("letter %s kept as a file: %s", letter.message_id, "; ".join(letter.problems))
        wanted.append((RAW_NAME, "text/plain", raw, None))
    for name, ctype, data, content_id in wanted:
        try:
            kept = attachments.store(settings, box.workspace_id, name, ctype, data)
            kept.content_id = content_id
            stored.append(kept)
        except DomainError as exc:
            failed.append({"filename": attachments.clean_filename(name), "reason": exc.message})
        except OSError as exc:  # a full disk must not lose the letter's text
            log.error("could not write a file of a letter: %s", exc)
            failed.append({"filename": attachments.clean_filename(name), "reason": "not saved"})
    return stored, failed


async def store(
    session: AsyncSession, box: Mailbox, prepared: Sequence[Prepared]
) -> list[Received]:
    """Thread and store prepared letters in the caller's transaction; answers the messages
    stored now (letters seen before, and our own letters coming back, are left out)."""
    fresh = await _not_ours(session, box.workspace_id, prepared)
    stored: list[Received] = []
    for group in _groups(fresh):
        stored.extend(await _store_group(session, box, group))
    await _apply_bounces(session, box, fresh)
    return stored


async def _apply_bounces(session: AsyncSession, box: Mailbox, prepared: Sequence[Prepared]) -> None:
    """A bounce marks the reply it reports on as failed, with the server's reason."""
    for p in prepared:
        bounce = p.letter.bounce
        if bounce is None or not bounce.failed or not bounce.original_id:
            continue
        ref = await session.scalar(
            select(EmailRef).where(
                EmailRef.workspace_id == box.workspace_id,
                EmailRef.message_id_header == bounce.original_id,
                EmailRef.message_id.is_not(None),
            )
        )
        if ref is None:
            continue
        sent = await session.get(Message, ref.message_id)
        if sent is None or sent.external_id is None:
            continue
        await update_delivery_status(
            session,
            sent.inbox_id,
            sent.external_id,
            Delivery.failed,
            f"bounced: {bounce.reason}",
        )


async def _not_ours(
    session: AsyncSession, workspace_id: int, prepared: Sequence[Prepared]
) -> list[Prepared]:
    """Drops letters whose own Message-ID is already remembered: a letter we sent (a copy
    coming back into the mailbox) or one stored before."""
    ids = sorted({p.letter.message_id for p in prepared if p.letter.message_id})
    known: set[str] = set()
    for start in range(0, len(ids), 500):
        rows = await session.scalars(
            select(EmailRef.message_id_header).where(
                EmailRef.workspace_id == workspace_id,
                EmailRef.message_id_header.in_(ids[start : start + 500]),
            )
        )
        known.update(rows)
    return [p for p in prepared if p.letter.message_id not in known or not p.letter.message_id]


def _groups(prepared: Sequence[Prepared]) -> list[list[Prepared]]:
    """Consecutive runs in which no letter answers an earlier letter of the same run: a reply
    is threaded only after the letter it answers is stored and remembered."""
    groups: list[list[Prepared]] = []
    current: list[Prepared] = []
    ids: set[str] = set()
    for p in prepared:
        keys = _keys(p)
        if current and ids.intersection(keys.candidates()):
            groups.append(current)
            current, ids = [], set()
        current.append(p)
        if p.letter.message_id:
            ids.add(p.letter.message_id)
    if current:
        groups.append(current)
    return groups


def _keys(p: Prepared) -> threading.ThreadKeys:
    letter = p.letter
    return threading.ThreadKeys(
        letter.in_reply_to, letter.references, letter.subject, p.item.sender_address
    )


async def _store_group(
    session: AsyncSession, box: Mailbox, group: list[Prepared]
) -> list[Received]:
    found = await threading.find_conversations(session, box.workspace_id, [_keys(p) for p in group])
    for p, conv_id in zip(group, found, strict=True):
        p.item.conversation_id = conv_id
        p.item.new_conversation = conv_id is None
    results = await receive_inbound(session, [p.item for p in group])
    refs = [
        (p.letter.message_id, r.message.conversation_id, r.message.id)
        for p, r in zip(group, results, strict=True)
        if p.letter.message_id
    ]
    await threading.remember_many(session, box.workspace_id, refs)
    return [r for r in results if not r.duplicate]
