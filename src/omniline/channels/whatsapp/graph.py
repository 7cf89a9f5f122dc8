"""Calls to Meta's Graph API for one WhatsApp inbox, and its errors in plain words.

Graph answers errors as ``{"error": {"message", "type", "code", "error_subcode",
"error_data": {"details"}, "fbtrace_id"}}``; the code decides whether a send is retried,
waits for a rate limit or fails for good.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from omniline.errors import TooLarge
from omniline.inboxes.models import Inbox
from omniline.kit.http import describe_error, http_client

DEFAULT_API_BASE = "https://graph.facebook.com"
DEFAULT_API_VERSION = "v26.0"

TOKEN_INVALID = 190
REENGAGEMENT = 131047  # more than 24 hours since the customer last wrote
UNKNOWN_OBJECT = 100
# Throttling: app calls (4), account (80007), throughput (130429), spam (131048), pair (131056).
RATE_LIMIT_WAIT = {4: 60.0, 80007: 60.0, 130429: 10.0, 131048: 60.0, 131056: 60.0}
# Meta's side is unwell: try again later.
PASSING = frozenset({1, 2, 131000, 131016, 133004})
DEFAULT_WAIT = 30.0


def N_(message: str) -> str:
    return message


# For the agent, in the installation's language (shown as the delivery error).
CLOSED_WINDOW = N_(
    "The customer last wrote more than 24 hours ago; WhatsApp only allows an approved template now."
)


@dataclass(frozen=True, slots=True)
class Config:
    base: str  # api_base + "/" + api_version
    token: str
    phone_number_id: str
    waba_id: str


def config_of(inbox: Inbox) -> Config:
    s = inbox.settings or {}
    base = str(s.get("api_base") or DEFAULT_API_BASE).rstrip("/")
    version = str(s.get("api_version") or DEFAULT_API_VERSION)
    return Config(
        base=f"{base}/{version}",
        token=str(s.get("access_token") or ""),
        phone_number_id=str(s.get("phone_number_id") or ""),
        waba_id=str(s.get("waba_id") or ""),
    )


class GraphError(Exception):
    """A failed Graph call. ``status`` 0 means Graph was not reached at all."""

    def __init__(
        self,
        status: int,
        message: str,
        code: int | None = None,
        subcode: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.subcode = subcode
        self.retry_after = retry_after

    @property
    def rate_limited(self) -> bool:
        return self.status == 429 or self.code in RATE_LIMIT_WAIT

    @property
    def passing(self) -> bool:
        """Worth trying again later: unreachable, a 5xx, Meta's own hiccup or a rate limit."""
        return self.status == 0 or self.status >= 500 or self.code in PASSING or self.rate_limited

    def wait_seconds(self) -> float:
        if self.retry_after is not None:
            return self.retry_after
        return RATE_LIMIT_WAIT.get(self.code or 0, DEFAULT_WAIT)


def describe(code: int | None, message: str, details: str = "") -> str:
    """An error (of a call or of a status webhook) as the admin or agent reads it."""
    if code == TOKEN_INVALID:
        return "the access token is invalid or expired"
    if code == REENGAGEMENT:
        return in_default_locale(CLOSED_WINDOW)
    text = message or "unknown error"
    if details and details not in text:
        text = f"{text}: {details}"
    return f"{text} (code {code})" if code is not None else text


def in_default_locale(message: str) -> str:
    from omniline.config import get_settings
    from omniline.web.i18n import gettext

    return gettext(get_settings().default_locale, message)


def _error_of(response: httpx.Response, body: dict[str, Any]) -> GraphError:
    err = body.get("error") if isinstance(body.get("error"), dict) else {}
    assert isinstance(err, dict)
    code = err.get("code") if isinstance(err.get("code"), int) else None
    subcode = err.get("error_subcode") if isinstance(err.get("error_subcode"), int) else None
    data = err.get("error_data") if isinstance(err.get("error_data"), dict) else {}
    assert isinstance(data, dict)
    message = describe(code, str(err.get("message") or ""), str(data.get("details") or ""))
    if not err:
        message = f"HTTP {response.status_code} from the Graph API"
    retry = response.headers.get("retry-after", "")
    wait = float(retry) if retry.isdigit() else None
    return GraphError(response.status_code, message, code, subcode, wait)


def _body(response: httpx.Response) -> dict[str, Any]:
    try:
        data = orjson.loads(response.content) if response.content else {}
    except orjson.JSONDecodeError:
        return {}
    return data if isinstance(data, dict) else {}


async def call(
    cfg: Config,
    method: str,
    path: str,
    *,
    params: dict[str, Any] | None = None,
    json: dict[str, Any] | None = None,
    data: dict[str, str] | None = None,
    files: dict[str, tuple[str, bytes, str]] | None = None,
) -> dict[str, Any]:
    """One Graph request; answers the JSON body or raises GraphError."""
    headers = {"Authorization": f"Bearer {cfg.token}"}
    try:
        response = await http_client().request(
            method,
            f"{cfg.base}/{path}",
            params=params,
            json=json,
            data=data,
            files=files,
            headers=headers,
        )
    except httpx.HTTPError as exc:
        raise GraphError(0, describe_error(exc)) from exc
    body = _body(response)
    if response.status_code >= 400 or "error" in body:
        raise _error_of(response, body)
    return body


async def download(cfg: Config, url: str, limit: int) -> bytes:
    """A media file's bytes (Graph's short-lived URL needs the same bearer token)."""
    headers = {"Authorization": f"Bearer {cfg.token}"}
    chunks: list[bytes] = []
    size = 0
    try:
        async with http_client().stream("GET", url, headers=headers) as response:
            if response.status_code >= 400:
                await response.aread()
                raise _error_of(response, _body(response))
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > limit:
                    raise TooLarge(f"the file is larger than the limit of {limit // 1024} KB")
                chunks.append(chunk)
    except httpx.HTTPError as exc:
        raise GraphError(0, describe_error(exc)) from exc
    return b"".join(chunks)
