"""Calls to the VK API (https://dev.vk.com/en/method) as a community.

VK answers HTTP 200 with either ``{"response": ...}`` or ``{"error": {"error_code",
"error_msg"}}``; ``VkError`` says whether a code is worth retrying and when.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from omniline.kit.http import http_client

DEFAULT_API_BASE = "https://api.vk.com/method"
DEFAULT_VERSION = "5.199"

# Codes worth another attempt, with the wait in seconds: unknown error, too many requests
# per second, flood control (too many messages to one person), internal server error.
TRANSIENT = {1: 5.0, 6: 1.0, 9: 60.0, 10: 5.0}
# What an agent or admin should read for the codes that need a person to act.
REASONS = {
    5: "VK refused the community token (error 5): check the access token in the inbox",
    7: "the community token lacks the messages permission (error 7)",
    27: "this method is not available with a community token (error 27)",
    900: "the person has blocked the community (error 900)",
    901: "the person has not allowed messages from the community (error 901)",
    902: "the person's privacy settings forbid messages from the community (error 902)",
    914: "the message is too long for VK (error 914)",
    917: "the community has no access to this conversation (error 917)",
}


@dataclass(frozen=True, slots=True)
class VkConfig:
    api_base: str
    version: str
    token: str
    group_id: int


def config_of(settings: dict[str, Any]) -> VkConfig:
    group = str(settings.get("group_id") or "0")
    return VkConfig(
        api_base=str(settings.get("api_base") or DEFAULT_API_BASE).rstrip("/"),
        version=str(settings.get("api_version") or DEFAULT_VERSION),
        token=str(settings.get("access_token") or ""),
        group_id=int(group) if group.isdigit() else 0,
    )


class VkError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    @property
    def retry_after(self) -> float | None:
        return TRANSIENT.get(self.code)

    @property
    def permanent(self) -> bool:
        return self.code not in TRANSIENT and self.code >= 0

    @property
    def reason(self) -> str:
        known = REASONS.get(self.code)
        return f"{known}: {self.message}" if known else f"VK error {self.code}: {self.message}"


def _error_of(body: Any) -> VkError | None:
    if not isinstance(body, dict) or not isinstance(body.get("error"), dict):
        return None
    err = body["error"]
    code = err.get("error_code")
    return VkError(code if isinstance(code, int) else -1, str(err.get("error_msg") or "error"))


async def call(cfg: VkConfig, method: str, params: dict[str, Any]) -> Any:
    """The ``response`` of one method; raises VkError (code -1: a passing fault) or
    httpx.HTTPError when VK cannot be reached."""
    form = {k: str(v) for k, v in params.items()}
    form.update(access_token=cfg.token, v=cfg.version)
    r = await http_client().post(f"{cfg.api_base}/{method}", data=form)
    if r.status_code == 429:
        raise VkError(6, "Too many requests per second")
    if r.status_code >= 500:
        raise VkError(-1, f"VK answered HTTP {r.status_code}")
    try:
        body = orjson.loads(r.content)
    except orjson.JSONDecodeError:
        raise VkError(-1, f"VK answered HTTP {r.status_code} without JSON") from None
    error = _error_of(body)
    if error is not None:
        raise error
    if not isinstance(body, dict) or "response" not in body:
        raise VkError(-1, "VK answered without a response")
    return body["response"]


async def post_file(url: str, field: str, filename: str, ctype: str, data: bytes) -> Any:
    """Upload to the address VK handed out (no token: the address carries the grant)."""
    r = await http_client().post(url, files={field: (filename, data, ctype)})
    if r.status_code >= 500:
        raise VkError(-1, f"the VK upload server answered HTTP {r.status_code}")
    try:
        body = orjson.loads(r.content)
    except orjson.JSONDecodeError:
        raise VkError(-1, "the VK upload server answered without JSON") from None
    if isinstance(body, dict) and "error" in body and not isinstance(body["error"], dict):
        raise VkError(100, f"the upload was refused: {body['error']}")
    return body
