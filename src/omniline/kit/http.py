"""One shared outbound HTTP client per process (messenger APIs, push webhooks)."""

from __future__ import annotations

import asyncio

import httpx

_client: httpx.AsyncClient | None = None
_loop: asyncio.AbstractEventLoop | None = None

TIMEOUT = httpx.Timeout(15.0, connect=5.0)
LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20)


def http_client() -> httpx.AsyncClient:
    """The process's client; a new event loop (a test, a CLI run) gets its own."""
    global _client, _loop
    loop = asyncio.get_running_loop()
    if _client is None or _client.is_closed or _loop is not loop:
        _client = httpx.AsyncClient(timeout=TIMEOUT, limits=LIMITS, follow_redirects=False)
        _loop = loop
    return _client


async def close_http_client() -> None:
    global _client, _loop
    if _client is not None and _loop is asyncio.get_running_loop():
        await _client.aclose()
    _client, _loop = None, None


def describe_error(exc: Exception) -> str:
    """Plain words for an admin or an agent: unreachable, timeout, bad certificate."""
    text = str(exc) or exc.__class__.__name__
    if isinstance(exc, httpx.ConnectError):
        if "CERTIFICATE" in text.upper() or "SSL" in text.upper():
            return f"the server's certificate is not valid: {text}"
        return f"the server cannot be reached: {text}"
    if isinstance(exc, httpx.TimeoutException):
        return "the server did not answer in time"
    return text
