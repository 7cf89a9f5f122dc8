"""Downloading a customer's file: getFile, then the file itself (a job, with retries)."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.channels.telegram.client import (
    GETFILE_MAX_BYTES,
    TelegramError,
    api_base_of,
    call,
    download,
)
from omniline.config import get_settings
from omniline.conversations.attachments import StoredFile, store
from omniline.conversations.inbound import MediaRef
from omniline.conversations.media import media_limit_bytes
from omniline.errors import TooLarge
from omniline.inboxes.models import Inbox
from omniline.jobs.registry import RetryLater
from omniline.kit.http import describe_error


def limit_bytes() -> int:
    """Ours, or Telegram's 20 MB ceiling for bots, whichever is lower."""
    return min(media_limit_bytes(), GETFILE_MAX_BYTES)


def _too_large(limit: int) -> TooLarge:
    return TooLarge(f"the file is larger than the limit of {limit // 1024} KB")


async def fetch(session: AsyncSession, inbox: Inbox, ref: MediaRef) -> StoredFile:
    limit = limit_bytes()
    if ref.size is not None and ref.size > limit:
        raise _too_large(limit)  # refused before anything is downloaded
    settings = inbox.settings or {}
    api_base, token = api_base_of(settings), str(settings.get("bot_token") or "")
    try:
        info: Any = await call(api_base, token, "getFile", {"file_id": ref.ref.get("file_id")})
        if not isinstance(info, dict) or not info.get("file_path"):
            raise RetryLater("Telegram gave no file path", 60)
        if isinstance(info.get("file_size"), int) and info["file_size"] > limit:
            raise _too_large(limit)
        data = await download(api_base, token, str(info["file_path"]), limit)
    except TelegramError as exc:
        if "too big" in exc.description.lower():
            raise _too_large(limit) from exc
        raise RetryLater(f"Telegram: {exc.description}", exc.retry_after or 30) from exc
    except httpx.HTTPError as exc:
        raise RetryLater(f"Telegram: {describe_error(exc)}", 30) from exc
    return store(get_settings(), inbox.workspace_id, ref.filename, ref.content_type, data)
