"""A small IMAP session on top of aioimaplib: log in, select a folder, list new UIDs, fetch
letters in ranges, wait with IDLE. Every failure is an :class:`ImapError` an admin can read."""

from __future__ import annotations

import asyncio
import re
import ssl
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from typing import Any

import aioimaplib

TIMEOUT = 30.0
FETCH_MAX = 50
_FETCH_START = re.compile(rb"^\d+ FETCH \(")
_UID = re.compile(rb"UID (\d+)")
_UIDVALIDITY = re.compile(rb"\[UIDVALIDITY (\d+)\]")


class ImapError(Exception):
    """A connection, login or protocol failure, worded for the admin page."""


@dataclass(slots=True)
class ImapConfig:
    host: str
    port: int
    security: str  # "ssl" | "starttls" | "none"
    username: str
    password: str
    folder: str = "INBOX"
    poll_seconds: float = 60.0  # between polls when the server has no IDLE

    @classmethod
    def of(cls, settings: dict[str, Any]) -> ImapConfig:
        security = str(settings.get("imap_security") or "ssl").lower()
        default_port = 993 if security == "ssl" else 143
        return cls(
            host=str(settings.get("imap_host") or "").strip(),
            port=int(settings.get("imap_port") or default_port),
            security=security,
            username=str(settings.get("imap_username") or settings.get("address") or ""),
            password=str(settings.get("imap_password") or ""),
            folder=str(settings.get("imap_folder") or "INBOX").strip() or "INBOX",
            poll_seconds=_seconds(settings.get("poll_seconds")),
        )


def _seconds(value: Any) -> float:
    try:
        return min(max(float(value or 60), 10.0), 3600.0)
    except (TypeError, ValueError):
        return 60.0


class ImapSession:
    """A logged-in connection with one folder selected."""

    def __init__(self, client: aioimaplib.IMAP4, config: ImapConfig) -> None:
        self.client = client
        self.config = config
        self.uidvalidity = 0

    @property
    def can_idle(self) -> bool:
        return self.client.has_capability("IDLE")

    async def select(self) -> None:
        resp = await self.client.select(quote(self.config.folder))
        if resp.result != "OK":
            raise ImapError(f"the folder {self.config.folder!r} cannot be opened: {_said(resp)}")
        for line in resp.lines:
            found = _UIDVALIDITY.search(bytes(line))
            if found:
                self.uidvalidity = int(found.group(1))
        if not self.uidvalidity:
            raise ImapError("the server gave no UIDVALIDITY for the folder")

    async def uids_after(self, last_uid: int) -> list[int]:
        """UIDs above ``last_uid``, in increasing order."""
        resp = await self.client.uid_search("UID", f"{last_uid + 1}:*", charset=None)
        if resp.result != "OK":
            raise ImapError(f"the server refused to list letters: {_said(resp)}")
        uids: list[int] = []
        for line in resp.lines[:-1]:  # the last line is the server's "completed" text
            words = bytes(line).removeprefix(b"SEARCH").split()
            if all(w.isdigit() for w in words):
                uids.extend(int(w) for w in words)
        # "n:*" names the last letter even when its UID is below n.
        return sorted(u for u in set(uids) if u > last_uid)

    async def fetch(self, uids: Sequence[int]) -> list[tuple[int, bytes]]:
        """The raw letters of these UIDs (read without marking them seen), by UID."""
        found: list[tuple[int, bytes]] = []
        ordered = sorted(uids)
        # aioimaplib rescans a whole answer for every line it receives: many short FETCH
        # commands cost far less CPU than one long one.
        for start in range(0, len(ordered), FETCH_MAX):
            part = ordered[start : start + FETCH_MAX]
            resp = await self.client.uid("fetch", uid_set(part), "(UID BODY.PEEK[])")
            if resp.result != "OK":
                raise ImapError(f"the server refused to hand out letters: {_said(resp)}")
            found.extend(parse_fetch(resp.lines))
        return sorted(found)

    async def wait_for_mail(self, seconds: float) -> None:
        """IDLE until the server announces a change or ``seconds`` pass."""
        idle = await self.client.idle_start(timeout=seconds + TIMEOUT)
        try:
            with suppress(asyncio.TimeoutError):
                await self.client.wait_server_push(timeout=seconds)
        finally:
            self.client.idle_done()
            with suppress(asyncio.TimeoutError):
                await asyncio.wait_for(idle, TIMEOUT)


def quote(folder: str) -> str:
    if re.fullmatch(r"[A-Za-z0-9_./-]+", folder):
        return folder
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def uid_set(uids: Sequence[int]) -> str:
    """``[1, 2, 3, 7]`` -> ``"1:3,7"``."""
    parts: list[str] = []
    ordered = sorted(set(uids))
    start = prev = ordered[0]
    for uid in ordered[1:]:
        if uid != prev + 1:
            parts.append(f"{start}:{prev}" if prev != start else str(start))
            start = uid
        prev = uid
    parts.append(f"{start}:{prev}" if prev != start else str(start))
    return ",".join(parts)


def parse_fetch(lines: Sequence[Any]) -> list[tuple[int, bytes]]:
    """(uid, letter) pairs of a FETCH answer: a ``n FETCH (... {size}`` line, the literal,
    then ``)``; the UID may come before or after the literal."""
    found: list[tuple[int, bytes]] = []
    uid: int | None = None
    body: bytes | None = None
    for line in lines:
        if isinstance(line, bytearray):
            body = bytes(line)
            continue
        raw = bytes(line)
        if _FETCH_START.match(raw):
            if uid is not None and body is not None:
                found.append((uid, body))
            uid, body = None, None
        match = _UID.search(raw)
        if match:
            uid = int(match.group(1))
    if uid is not None and body is not None:
        found.append((uid, body))
    return found


def _said(resp: Any) -> str:
    text = b" ".join(bytes(x) for x in resp.lines if not isinstance(x, bytearray))
    return text.decode(errors="replace")[:200]


@asynccontextmanager
async def connect(config: ImapConfig) -> AsyncIterator[ImapSession]:
    """Connect, log in and select the folder; logs out on the way out."""
    if not config.host:
        raise ImapError("no IMAP server is set")
    client = await _open(config)
    try:
        resp = await _step(client.login(config.username, config.password), "log in")
        if resp.result != "OK":
            raise ImapError(f"the server refused the login: {_said(resp)}")
        session = ImapSession(client, config)
        await _step(session.select(), "open the folder")
        yield session
    finally:
        with suppress(Exception):
            await asyncio.wait_for(client.logout(), 5)
        transport = getattr(client.protocol, "transport", None)
        if transport is not None:
            transport.close()


async def _open(config: ImapConfig) -> aioimaplib.IMAP4:
    where = f"{config.host}:{config.port}"
    client: aioimaplib.IMAP4
    if config.security == "ssl":
        client = aioimaplib.IMAP4_SSL(config.host, config.port, timeout=TIMEOUT)
    else:
        client = aioimaplib.IMAP4(config.host, config.port, timeout=TIMEOUT)
    await _step(client.wait_hello_from_server(), f"connect to {where}")
    if config.security == "starttls":
        await _step(_starttls(client, config.host), f"start TLS with {where}")
    return client


async def _starttls(client: aioimaplib.IMAP4, host: str) -> None:
    protocol = client.protocol
    if "STARTTLS" not in protocol.capabilities:
        raise ImapError("the server does not offer STARTTLS")
    command = aioimaplib.Command("STARTTLS", protocol.new_tag(), loop=protocol.loop)
    resp = await protocol.execute(command)
    if resp.result != "OK":
        raise ImapError(f"the server refused STARTTLS: {_said(resp)}")
    loop = asyncio.get_running_loop()
    context = ssl.create_default_context()
    protocol.transport = await loop.start_tls(
        protocol.transport, protocol, context, server_hostname=host
    )
    await protocol.capability()  # capabilities may change once the channel is secure


async def _step(awaitable: Any, what: str) -> Any:
    try:
        return await asyncio.wait_for(awaitable, TIMEOUT)
    except ImapError:
        raise
    except TimeoutError as exc:
        raise ImapError(f"could not {what}: no answer within {TIMEOUT:.0f} s") from exc
    except ssl.SSLError as exc:
        raise ImapError(f"could not {what}: TLS failed ({exc.reason or exc})") from exc
    except OSError as exc:
        raise ImapError(f"could not {what}: {exc.strerror or exc}") from exc
    except aioimaplib.AioImapException as exc:
        raise ImapError(f"could not {what}: {exc}") from exc
