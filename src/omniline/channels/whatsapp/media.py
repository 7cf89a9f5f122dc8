"""Downloading a customer's file: Graph answers the media id with a short-lived URL."""

from __future__ import annotations

import mimetypes

from sqlalchemy.ext.asyncio import AsyncSession

from omniline.channels.whatsapp import graph
from omniline.config import get_settings
from omniline.conversations import attachments
from omniline.conversations.attachments import StoredFile
from omniline.conversations.inbound import MediaRef
from omniline.conversations.media import media_limit_bytes
from omniline.errors import TooLarge
from omniline.inboxes.models import Inbox


def _filename(ref: MediaRef, media_id: str, mime: str) -> str:
    if ref.filename:
        return ref.filename
    ext = mimetypes.guess_extension(mime.split(";")[0].strip()) or ""
    kind = str(ref.ref.get("kind") or "file")
    return f"{kind}-{media_id[-12:]}{ext}"


async def fetch(session: AsyncSession, inbox: Inbox, ref: MediaRef) -> StoredFile:
    """GET /{media_id} -> url, mime_type, file_size; then the bytes with the same token."""
    cfg = graph.config_of(inbox)
    media_id = str(ref.ref.get("media_id") or "")
    info = await graph.call(cfg, "GET", media_id)
    limit = media_limit_bytes()
    announced = str(info.get("file_size") or "")
    if announced.isdigit() and int(announced) > limit:
        raise TooLarge(f"the file is larger than the limit of {limit // 1024} KB")
    url = info.get("url")
    if not isinstance(url, str) or not url.startswith(("https://", "http://")):
        raise graph.GraphError(502, "the Graph API gave no download URL for the file")
    data = await graph.download(cfg, url, limit)
    mime = str(info.get("mime_type") or ref.content_type or "")
    name = _filename(ref, media_id, mime)
    return attachments.store(get_settings(), inbox.workspace_id, name, mime, data)
