"""Small pieces the VK and Messenger adapters share.

- ``inbox_by_key``: a webhook's inbox, cached briefly so a callback costs no extra query
  (an admin's change reaches other processes within ``TTL`` seconds; saving the inbox in
  this process drops its entry at once through ``forget``).
- ``fetch_url_media``: a media fetcher for providers that hand out a plain file URL.
- ``outbound_files``: the stored files of an agent's reply, read for sending.
"""

from __future__ import annotations

import mimetypes
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request

from omniline import db
from omniline.config import get_settings
from omniline.conversations import attachments, repository
from omniline.conversations.attachments import StoredFile
from omniline.conversations.inbound import MediaRef
from omniline.conversations.media import media_limit_bytes
from omniline.conversations.models import Message
from omniline.errors import Invalid, TooLarge, UnsupportedType
from omniline.inboxes import repository as inboxes
from omniline.inboxes.models import Inbox
from omniline.jobs.registry import RetryLater
from omniline.kit.http import describe_error, http_client

TTL = 5.0
MAX_BODY = 1024 * 1024
MAX_CACHED = 10_000


@dataclass(frozen=True, slots=True)
class WebhookInbox:
    id: int
    workspace_id: int
    key: str
    channel: str
    enabled: bool
    settings: dict[str, Any]


_cache: dict[str, tuple[float, WebhookInbox | None]] = {}


async def inbox_by_key(key: str, channel: str) -> WebhookInbox | None:
    """The enabled inbox of ``channel`` with this webhook key, or None."""
    now = time.monotonic()
    hit = _cache.get(key)
    if hit is None or hit[0] <= now:
        async with db.sessionmaker()() as session:
            inbox = await inboxes.by_key(session, key[:64])
        found = None
        if inbox is not None:
            found = WebhookInbox(
                inbox.id,
                inbox.workspace_id,
                inbox.key,
                inbox.channel,
                inbox.enabled,
                dict(inbox.settings or {}),
            )
        hit = (now + TTL, found)
        if len(_cache) >= MAX_CACHED:
            _cache.clear()  # unknown keys from a scan must not grow it without bound
        _cache[key] = hit
    inbox_found = hit[1]
    if inbox_found is None or inbox_found.channel != channel or not inbox_found.enabled:
        return None
    return inbox_found


def forget(key: str | None = None) -> None:
    """Drop one cached inbox (after an admin saved it), or all of them (tests)."""
    if key is None:
        _cache.clear()
    else:
        _cache.pop(key, None)


async def read_body(request: Request, limit: int = MAX_BODY) -> bytes:
    """The raw body of a webhook, refused (413) past ``limit`` bytes."""
    declared = request.headers.get("content-length") or "0"
    if not declared.isdigit() or int(declared) > limit:
        raise TooLarge("the event is too large")
    raw = await request.body()
    if len(raw) > limit:
        raise TooLarge("the event is too large")
    return raw


def text_setting(settings: dict[str, Any], name: str, default: str = "") -> str:
    return str(settings.get(name) or default).strip()


def clean_api_base(value: str, default: str) -> str:
    base = (value or default).strip().rstrip("/")
    if urlsplit(base).scheme not in ("http", "https") or not urlsplit(base).netloc:
        raise Invalid("api_base", "must be an http(s) URL")
    return base


async def fetch_url_media(session: AsyncSession, inbox: Inbox, ref: MediaRef) -> StoredFile:
    """Download ``ref.ref["url"]`` within the upload limit and store it.

    Refuses (TooLarge/UnsupportedType: the customer is told) a file over the limit, of a
    type not accepted, or gone for good (4xx); a network fault or 5xx is retried later.
    """
    url = str(ref.ref.get("url") or "")
    if urlsplit(url).scheme not in ("http", "https"):
        raise UnsupportedType("the file has no address to download it from")
    limit = media_limit_bytes()
    if ref.size is not None and ref.size > limit:
        raise TooLarge(f"the file is larger than the limit of {limit // 1024} KB")
    data, declared, final_url = await _download(url, limit)
    if not data:
        raise UnsupportedType("the file is empty")
    ctype = ref.content_type or declared
    name = ref.filename or _name_of(final_url, ctype)
    return attachments.store(get_settings(), inbox.workspace_id, name, ctype, data)


def _name_of(url: str, ctype: str | None) -> str:
    """The last part of the file's address, with an extension from its type if it has none."""
    name = unquote(urlsplit(url).path.rsplit("/", 1)[-1]) or "file"
    if "." not in name and ctype:
        name += mimetypes.guess_extension(ctype.split(";")[0].strip()) or ""
    return name


async def _download(url: str, limit: int) -> tuple[bytes, str | None, str]:
    try:
        # CDN links (Messenger's lookaside URLs) answer with a redirect to the file.
        async with http_client().stream("GET", url, follow_redirects=True) as response:
            if response.status_code >= 500 or response.status_code == 429:
                raise RetryLater(f"the file server answered {response.status_code}", 60)
            if response.status_code >= 300:
                raise UnsupportedType(f"the file is not available ({response.status_code})")
            if int(response.headers.get("content-length") or 0) > limit:
                raise TooLarge(f"the file is larger than the limit of {limit // 1024} KB")
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > limit:
                    raise TooLarge(f"the file is larger than the limit of {limit // 1024} KB")
                chunks.append(chunk)
            ctype = response.headers.get("content-type")
            return b"".join(chunks), ctype, str(response.url)
    except httpx.HTTPError as exc:
        raise RetryLater(describe_error(exc), 30) from exc


@dataclass(frozen=True, slots=True)
class OutboundFile:
    filename: str
    content_type: str
    data: bytes


async def outbound_files(session: AsyncSession, message: Message) -> list[OutboundFile]:
    """The reply's attachments as bytes (they are within the upload limit)."""
    settings = get_settings()
    atts = (await repository.attachments_for(session, [message.id])).get(message.id, [])
    return [
        OutboundFile(
            a.filename,
            a.content_type,
            attachments.path_of(settings, a.storage_key).read_bytes(),
        )
        for a in atts
    ]
