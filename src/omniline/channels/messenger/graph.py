"""Calls to the Graph API for a Facebook Page (Send API, page checks).

Errors come as ``{"error": {"message", "type", "code", "error_subcode"}}``; ``GraphError``
says whether a code is worth retrying (rate limits, passing faults) and in what words an
agent should read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from omniline.kit.http import http_client

DEFAULT_API_BASE = "https://graph.facebook.com"
DEFAULT_VERSION = "v24.0"
RATE_LIMIT_WAIT = 60.0
# Application, user, page and Send API rate limits.
RATE_LIMITED = frozenset({4, 17, 32, 613})
PASSING = frozenset({1, 2})
REASONS = {
    190: "Facebook refused the page access token (code 190): renew it in the inbox settings",
    551: "This person isn't available right now (code 551): they cannot receive messages",
    10: "Messenger does not allow this message now (code 10), usually because the "
    "customer's last message is too old",
    200: "the app lacks the permission to message for this page (code 200)",
    100: "Facebook refused the request (code 100)",
}


@dataclass(frozen=True, slots=True)
class GraphConfig:
    api_base: str
    version: str
    page_id: str
    token: str

    def url(self, path: str) -> str:
        return f"{self.api_base}/{self.version}/{path}"


def config_of(settings: dict[str, Any]) -> GraphConfig:
    return GraphConfig(
        api_base=str(settings.get("api_base") or DEFAULT_API_BASE).rstrip("/"),
        version=str(settings.get("api_version") or DEFAULT_VERSION),
        page_id=str(settings.get("page_id") or ""),
        token=str(settings.get("page_access_token") or ""),
    )


class GraphError(Exception):
    def __init__(self, code: int, message: str, *, http_status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.http_status = http_status

    @property
    def retry_after(self) -> float | None:
        limited = self.code in RATE_LIMITED or self.http_status == 429
        return RATE_LIMIT_WAIT if limited else None

    @property
    def permanent(self) -> bool:
        passing = self.code in PASSING or self.http_status >= 500
        return not passing and self.retry_after is None

    @property
    def reason(self) -> str:
        known = REASONS.get(self.code)
        return (
            f"{known}: {self.message}" if known else f"Facebook error {self.code}: {self.message}"
        )


def _checked(r: httpx.Response) -> dict[str, Any]:
    try:
        body = orjson.loads(r.content)
    except orjson.JSONDecodeError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        err = body["error"]
        code = err.get("code") if isinstance(err.get("code"), int) else -1
        raise GraphError(code, str(err.get("message") or "error"), http_status=r.status_code)
    if r.status_code >= 400 or not isinstance(body, dict):
        raise GraphError(-1, f"Facebook answered HTTP {r.status_code}", http_status=r.status_code)
    return body


async def call(
    cfg: GraphConfig, method: str, path: str, *, params: dict[str, str] | None = None, **kw: Any
) -> dict[str, Any]:
    """Raises GraphError, or httpx.HTTPError when Facebook cannot be reached."""
    query = {**(params or {}), "access_token": cfg.token}
    r = await http_client().request(method, cfg.url(path), params=query, **kw)
    return _checked(r)
