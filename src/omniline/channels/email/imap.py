"""Fetching letters from IMAP mailboxes.

Each mailbox folder has a ``MailboxState``: the server's UIDVALIDITY and the highest UID
stored. A poll lists the UIDs above it, fetches them in chunks of :data:`CHUNK` and stores
each chunk in one transaction together with the new position, so a letter is stored
exactly once across crashes and restarts. When the server renumbers the folder (a new
UIDVALIDITY) the whole folder is read again; letters already stored are recognised by
their Message-ID and not stored twice.

:func:`supervise` is the background loop: one task per enabled email inbox with an IMAP
server, waiting with IDLE where the server offers it and polling every ``poll_seconds``
otherwise; it rereads the inboxes every :data:`REREAD_SECONDS` to pick up changes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlalchemy.pool import NullPool

from omniline import db
from omniline.channels.email import inbound
from omniline.channels.email.imap_client import ImapConfig, ImapError, ImapSession, connect
from omniline.channels.email.models import MailboxState
from omniline.config import get_settings
from omniline.errors import NotFound
from omniline.inboxes.models import Inbox
from omniline.kit.clock import utcnow

log = logging.getLogger(__name__)

CHUNK = 500
REREAD_SECONDS = 30.0
IDLE_SECONDS = 300.0  # renew IDLE (and look again) at least this often
RETRY_MIN, RETRY_MAX = 5.0, 300.0
LOCK_CLASS = 0x0E3A11  # pg advisory lock namespace of the email pollers

Letters = Sequence[tuple[int, bytes]]  # (UID, raw letter)


async def poll_once(inbox_id: int) -> int:
    """Fetch and store every new letter of an email inbox; answers how many were stored."""
    box, config = await load_mailbox(inbox_id)
    async with connect(config) as imap:
        return await sync_mailbox(box, imap)


async def load_mailbox(inbox_id: int) -> tuple[inbound.Mailbox, ImapConfig]:
    async with db.sessionmaker()() as session:
        inbox = await session.get(Inbox, inbox_id)
    if inbox is None or inbox.channel != inbound.CHANNEL:
        raise NotFound("no such email inbox")
    config = ImapConfig.of(inbox.settings or {})
    if not config.host:
        raise ImapError("the inbox has no IMAP server")
    return inbound.Mailbox.of(inbox), config


async def sync_mailbox(box: inbound.Mailbox, imap: ImapSession) -> int:
    folder = imap.config.folder
    last_uid = await _position(box.inbox_id, folder, imap.uidvalidity)
    uids = await imap.uids_after(last_uid)
    chunks = [uids[i : i + CHUNK] for i in range(0, len(uids), CHUNK)]
    stored = 0
    problems: list[str] = []
    # The next chunk is fetched and read while this one is stored.
    loading = asyncio.create_task(_load(box, imap, chunks[0])) if chunks else None
    try:
        for k, chunk in enumerate(chunks):
            assert loading is not None
            letters, prepared = await loading
            loading = None
            if k + 1 < len(chunks):
                loading = asyncio.create_task(_load(box, imap, chunks[k + 1]))
            stored += await ingest_chunk(
                box, folder, imap.uidvalidity, letters, max(chunk), problems, prepared
            )
    finally:
        if loading is not None:
            loading.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await loading
    await note_poll(box.inbox_id, folder, "; ".join(problems) or None)
    return stored


async def _load(
    box: inbound.Mailbox, imap: ImapSession, uids: list[int]
) -> tuple[Letters, list[inbound.Prepared] | None]:
    """Fetch and read a chunk; None for the reading when it failed (then letter by letter)."""
    letters = await imap.fetch(uids)
    try:
        return letters, await _prepare(box, letters)
    except Exception:
        log.exception("inbox %s: a chunk of letters could not be read", box.inbox_id)
        return letters, None


async def _prepare(box: inbound.Mailbox, letters: Letters) -> list[inbound.Prepared]:
    incoming = [inbound.Incoming(raw) for _, raw in letters]
    return await asyncio.to_thread(inbound.prepare, box, incoming, get_settings())


async def _position(inbox_id: int, folder: str, uidvalidity: int) -> int:
    """The last UID stored; 0 (read everything) for a new or renumbered folder."""
    async with db.unit_of_work() as session:
        state = await _state(session, inbox_id, folder)
        if state.uidvalidity != uidvalidity:
            if state.uidvalidity is not None:
                log.warning(
                    "inbox %s folder %s: UIDVALIDITY changed %s -> %s, reading it again",
                    inbox_id, folder, state.uidvalidity, uidvalidity,
                )  # fmt: skip
            state.uidvalidity = uidvalidity
            state.last_uid = 0
        return state.last_uid


async def _state(session: AsyncSession, inbox_id: int, folder: str) -> MailboxState:
    state = await session.scalar(
        select(MailboxState).where(MailboxState.inbox_id == inbox_id, MailboxState.folder == folder)
    )
    if state is None:
        state = MailboxState(inbox_id=inbox_id, folder=folder, last_uid=0)
        session.add(state)
        await session.flush()
    return state


async def ingest_chunk(
    box: inbound.Mailbox,
    folder: str,
    uidvalidity: int,
    letters: Letters,
    last_uid: int,
    problems: list[str],
    prepared: list[inbound.Prepared] | None = None,
) -> int:
    """Store a chunk and move the position to ``last_uid`` in one commit.

    When the chunk as a whole fails, each letter is tried on its own; a letter that still
    cannot be stored is logged, noted in ``problems`` and passed over, so it never holds up
    the mail behind it.
    """
    try:
        if prepared is None:
            prepared = await _prepare(box, letters)
        return await _store(box, folder, uidvalidity, prepared, last_uid)
    except Exception:
        log.exception(
            "inbox %s: %d letters failed together; one by one", box.inbox_id, len(letters)
        )
    stored = 0
    for uid, raw in letters:
        try:
            one = await _prepare(box, [(uid, raw)])
            stored += await _store(box, folder, uidvalidity, one, uid)
        except Exception as exc:
            log.exception("inbox %s: letter UID %s passed over", box.inbox_id, uid)
            problems.append(f"letter UID {uid} passed over: {exc}")
    await _advance_only(box.inbox_id, folder, uidvalidity, last_uid)
    return stored


async def _store(
    box: inbound.Mailbox,
    folder: str,
    uidvalidity: int,
    prepared: list[inbound.Prepared],
    last_uid: int,
) -> int:
    async with db.unit_of_work() as session:
        stored = await inbound.store(session, box, prepared)
        await _advance(session, box.inbox_id, folder, uidvalidity, last_uid)
    return len(stored)


async def _advance(
    session: AsyncSession, inbox_id: int, folder: str, uidvalidity: int, last_uid: int
) -> None:
    state = await _state(session, inbox_id, folder)
    if state.uidvalidity != uidvalidity:
        return  # the folder was renumbered meanwhile: the next poll starts over
    state.last_uid = max(state.last_uid, last_uid)


async def _advance_only(inbox_id: int, folder: str, uidvalidity: int, last_uid: int) -> None:
    async with db.unit_of_work() as session:
        await _advance(session, inbox_id, folder, uidvalidity, last_uid)


async def note_poll(inbox_id: int, folder: str, error: str | None) -> None:
    """Record a poll (and its error, or None when it went well) for the admin page."""
    async with db.unit_of_work() as session:
        state = await _state(session, inbox_id, folder)
        state.last_poll_at = utcnow()
        state.last_error = error[:500] if error else None


# ---------------------------------------------------------------------------------------------
# The background loops


async def run_mailbox(inbox_id: int) -> None:
    """Keep one mailbox in sync until cancelled: IDLE or poll, reconnect with back-off."""
    delay = RETRY_MIN
    while True:
        folder = "INBOX"
        try:
            box, config = await load_mailbox(inbox_id)
            folder = config.folder
            async with _lease(inbox_id) as owned:
                if not owned:  # another worker process keeps this mailbox
                    await asyncio.sleep(REREAD_SECONDS)
                    continue
                async with connect(config) as imap:
                    delay = RETRY_MIN
                    await _follow(box, imap)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            reason = str(exc) if isinstance(exc, ImapError) else f"{type(exc).__name__}: {exc}"
            log.warning("inbox %s: IMAP failed (%s); again in %.0f s", inbox_id, reason, delay)
            with contextlib.suppress(Exception):
                await note_poll(inbox_id, folder, reason)
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX)


async def _follow(box: inbound.Mailbox, imap: ImapSession) -> None:
    while True:
        await sync_mailbox(box, imap)
        if imap.can_idle:
            await imap.wait_for_mail(IDLE_SECONDS)
        else:
            await asyncio.sleep(imap.config.poll_seconds)


def mailbox_key(inbox: Inbox) -> tuple[Any, ...] | None:
    """What a running mailbox task depends on; None when the inbox should not be polled."""
    s = inbox.settings or {}
    if not inbox.enabled or inbox.channel != inbound.CHANNEL or not s.get("imap_host"):
        return None
    names = ("address", "aliases", "imap_host", "imap_port", "imap_security", "imap_username")
    rest = ("imap_password", "imap_folder", "poll_seconds")
    return tuple(repr(s.get(n)) for n in (*names, *rest))


async def supervise() -> None:
    """One task per pollable email inbox; restarts a task when its settings change."""
    tasks: dict[int, tuple[tuple[Any, ...], asyncio.Task[None]]] = {}
    try:
        while True:
            try:
                wanted = await _pollable()
            except Exception:
                log.exception("could not read the email inboxes; trying again")
                wanted = {i: key for i, (key, _) in tasks.items()}
            _reconcile(tasks, wanted)
            await asyncio.sleep(REREAD_SECONDS)
    finally:
        for _, task in tasks.values():
            task.cancel()
        for _, task in tasks.values():
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


async def _pollable() -> dict[int, tuple[Any, ...]]:
    async with db.sessionmaker()() as session:
        inboxes = list(await session.scalars(select(Inbox).where(Inbox.channel == "email")))
    wanted: dict[int, tuple[Any, ...]] = {}
    for inbox in inboxes:
        key = mailbox_key(inbox)
        if key is not None:
            wanted[inbox.id] = key
    return wanted


def _reconcile(
    tasks: dict[int, tuple[tuple[Any, ...], asyncio.Task[None]]],
    wanted: dict[int, tuple[Any, ...]],
) -> None:
    for inbox_id in list(tasks):
        key, task = tasks[inbox_id]
        if wanted.get(inbox_id) != key or task.done():
            task.cancel()
            del tasks[inbox_id]
    for inbox_id, key in wanted.items():
        if inbox_id not in tasks:
            task = asyncio.create_task(run_mailbox(inbox_id), name=f"imap:{inbox_id}")
            tasks[inbox_id] = (key, task)


_lock_engine: Any = None


@contextlib.asynccontextmanager
async def _lease(inbox_id: int) -> AsyncIterator[bool]:
    """On PostgreSQL, only one worker process keeps a mailbox: a session advisory lock on a
    connection of its own, held while the mailbox is followed. SQLite runs one worker."""
    global _lock_engine
    url = get_settings().database_url
    if not url.startswith("postgresql"):
        yield True
        return
    if _lock_engine is None:
        _lock_engine = create_async_engine(url, poolclass=NullPool)
    async with _lock_engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        args = {"c": LOCK_CLASS, "i": inbox_id}
        owned = bool(await conn.scalar(text("SELECT pg_try_advisory_lock(:c, :i)"), args))
        try:
            yield owned
        finally:
            if owned:
                with contextlib.suppress(Exception):
                    await conn.execute(text("SELECT pg_advisory_unlock(:c, :i)"), args)
