"""Calling the Telegram Bot API: one method, its documented answer shapes and errors.

Every answer is ``{"ok": true, "result": ...}`` or ``{"ok": false, "error_code": N,
"description": "...", "parameters": {"retry_after": S}}``. A failure becomes a
``TelegramError``; a network fault stays an ``httpx.HTTPError`` for the caller to word.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import Any

import httpx
import orjson

from omniline.errors import TooLarge
from omniline.kit.http import http_client

DEFAULT_API_BASE = "https://api.telegram.org"
# Telegram's documented limits for bots.
GETFILE_MAX_BYTES = 20 * 1024 * 1024
TEXT_MAX_CHARS = 4096
CAPTION_MAX_CHARS = 1024
CALLBACK_DATA_MAX_BYTES = 64
MESSAGES_PER_SECOND = 30


class TelegramError(Exception):
    """Telegram answered ``ok: false`` (or not JSON at all)."""

    def __init__(self, code: int, description: str, retry_after: float | None = None) -> None:
        super().__init__(f"{code} {description}")
        self.code = code
        self.description = description
        self.retry_after = retry_after


def api_base_of(settings: dict[str, Any]) -> str:
    return str(settings.get("api_base") or DEFAULT_API_BASE).rstrip("/")


def _answer(response: httpx.Response) -> Any:
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        raise TelegramError(
            response.status_code, f"not a Bot API answer (HTTP {response.status_code})"
        ) from None
    if not isinstance(body, dict):
        raise TelegramError(response.status_code, "not a Bot API answer")
    if body.get("ok") is True:
        return body.get("result")
    params = body.get("parameters")
    retry = params.get("retry_after") if isinstance(params, dict) else None
    raise TelegramError(
        int(body.get("error_code") or response.status_code),
        str(body.get("description") or f"HTTP {response.status_code}"),
        float(retry) if isinstance(retry, int | float) else None,
    )


async def call(
    api_base: str,
    token: str,
    method: str,
    payload: dict[str, Any] | None = None,
    *,
    files: dict[str, tuple[str, bytes, str]] | None = None,
) -> Any:
    """One Bot API method: JSON body, or multipart form fields plus files."""
    url = f"{api_base}/bot{token}/{method}"
    client = http_client()
    if files is None:
        response = await client.post(url, json=payload or {})
    else:
        form = {
            k: v if isinstance(v, str) else orjson.dumps(v).decode()
            for k, v in (payload or {}).items()
        }
        response = await client.post(url, data=form, files=files)
    return _answer(response)


async def download(api_base: str, token: str, file_path: str, limit: int) -> bytes:
    """A file from getFile's ``file_path``; stops reading past ``limit`` bytes."""
    url = f"{api_base}/file/bot{token}/{file_path}"
    async with http_client().stream("GET", url) as response:
        if response.status_code != 200:
            await response.aread()
            raise TelegramError(
                response.status_code,
                f"the file could not be downloaded (HTTP {response.status_code})",
            )
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > limit:
                raise TooLarge(f"the file is larger than the limit of {limit // 1024} KB")
            chunks.append(chunk)
    return b"".join(chunks)


class Pace:
    """At most ``rate`` calls per second per bot in this process (Telegram's overall limit)."""

    def __init__(self, rate: int = MESSAGES_PER_SECOND) -> None:
        self.rate = rate
        self._sent: dict[str, deque[float]] = {}

    async def wait(self, token: str) -> None:
        times = self._sent.setdefault(token, deque(maxlen=self.rate))
        if len(times) == self.rate:
            wait = 1.0 - (time.monotonic() - times[0])
            if wait > 0:
                await asyncio.sleep(wait)
        times.append(time.monotonic())


pace = Pace()
