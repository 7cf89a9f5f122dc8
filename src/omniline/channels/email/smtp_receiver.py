"""The built-in SMTP receiver: letters forwarded (or delivered) straight to Omniline.

A letter for an address that is an email inbox's address or alias goes to that inbox, with
that address as the routing condition ``to_address``; any other recipient is refused with
550, so the receiver is never a relay. The sender hears "250" only once the letter is
committed; a storage failure answers 451 so the sending server tries again later.
Off unless ``OMNILINE_SMTP_RECEIVER_PORT`` is set.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from omniline import db
from omniline.channels.email import inbound
from omniline.config import get_settings
from omniline.inboxes.models import Inbox

log = logging.getLogger(__name__)

MAX_LETTER_BYTES = 32 * 1024 * 1024


async def mailbox_for(address: str) -> inbound.Mailbox | None:
    """The enabled email inbox that has ``address`` as its address or an alias."""
    wanted = address.strip().lower()
    async with db.sessionmaker()() as session:
        inboxes = await session.scalars(
            select(Inbox).where(Inbox.channel == inbound.CHANNEL, Inbox.enabled.is_(True))
        )
        boxes = [inbound.Mailbox.of(i) for i in inboxes]
    return next((b for b in sorted(boxes, key=lambda b: b.inbox_id) if wanted in b.addresses), None)


async def deliver(box: inbound.Mailbox, letters: list[inbound.Incoming]) -> int:
    """Store letters in one inbox; answers how many were new."""
    prepared = await asyncio.to_thread(inbound.prepare, box, letters, get_settings())
    try:
        async with db.unit_of_work() as session:
            return len(await inbound.store(session, box, prepared))
    except IntegrityError:
        # The same letter arrived at the same moment by another way (IMAP, a second
        # receiver): once more, and the copy is recognised.
        async with db.unit_of_work() as session:
            return len(await inbound.store(session, box, prepared))


class LenientSMTP(SMTP):
    """Takes letters as real mail servers do: lines longer than RFC 5321's 1,000 bytes and
    bare LF line ends (about one letter in eight in the wild) are accepted; the bound is the
    letter's size (552 above it), not its line lengths."""

    def __init__(self, *args: Any, size_limit: int, **kwargs: Any) -> None:
        # aiosmtpd reads a DATA line (a bare-LF letter is one "line") into a buffer of at most
        # this many bytes. Twice the size limit: a letter over the limit reads to its end and
        # gets 552 ("too much mail data"), not a misleading "line too long".
        self.line_length_limit = 2 * size_limit + 1024
        super().__init__(*args, data_size_limit=size_limit, **kwargs)


class Receiver:
    """aiosmtpd handler."""

    async def handle_RCPT(  # aiosmtpd's hook names
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if await mailbox_for(address) is None:
            return f"550 5.1.1 <{address[:200]}>: no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        mail_from = envelope.mail_from if envelope.mail_from not in (None, "<>") else None
        try:
            for box, address in await _boxes(envelope.rcpt_tos):
                await deliver(box, [inbound.Incoming(raw, address.lower(), mail_from)])
        except Exception:
            log.exception("SMTP receiver: a letter for %s could not be stored", envelope.rcpt_tos)
            return "451 4.3.0 the letter could not be stored; please try again later"
        return "250 OK: stored"


async def _boxes(rcpt_tos: list[str]) -> list[tuple[inbound.Mailbox, str]]:
    """One delivery per inbox, with the first of its addresses the letter was sent to."""
    found: dict[int, tuple[inbound.Mailbox, str]] = {}
    for address in rcpt_tos:
        box = await mailbox_for(address)
        if box is not None and box.inbox_id not in found:
            found[box.inbox_id] = (box, address)
    return list(found.values())


async def start(host: str, port: int) -> asyncio.Server:
    """Listen for SMTP on ``host:port`` in the running event loop."""
    loop = asyncio.get_running_loop()
    handler = Receiver()
    return await loop.create_server(
        lambda: LenientSMTP(
            handler, size_limit=MAX_LETTER_BYTES, enable_SMTPUTF8=True, ident="Omniline"
        ),
        host=host,
        port=port,
        # Several worker processes may all listen: the kernel shares the port among them.
        reuse_port=sys.platform.startswith("linux"),
    )


async def serve() -> None:
    """The background loop: run the receiver when a port is configured."""
    settings = get_settings()
    if not settings.smtp_receiver_port:
        return
    server = await start(settings.smtp_receiver_host, settings.smtp_receiver_port)
    log.info(
        "SMTP receiver listening on %s:%s", settings.smtp_receiver_host, settings.smtp_receiver_port
    )
    try:
        await asyncio.Event().wait()
    finally:
        server.close()
        await server.wait_closed()
