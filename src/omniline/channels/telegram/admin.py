"""The Telegram inbox on the admin pages: its settings, checks, connection test, webhook."""

from __future__ import annotations

import re
import secrets
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.channels import _kit
from omniline.channels.telegram.client import DEFAULT_API_BASE, TelegramError, api_base_of, call
from omniline.config import get_settings
from omniline.errors import BadRequest, Invalid
from omniline.inboxes.channel_types import ChannelType, SettingField, TestResult
from omniline.inboxes.models import Inbox
from omniline.kit.http import describe_error

CHANNEL = "telegram"
TOKEN_RE = re.compile(r"^\d{3,20}:[A-Za-z0-9_-]{20,100}$")
SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
ALLOWED_UPDATES = ["message", "edited_message", "callback_query"]


def N_(message: str) -> str:
    return message


FIELDS = (
    SettingField(
        "bot_token",
        N_("Bot token"),
        kind="secret",
        required=True,
        help=N_("The token @BotFather gave you, like 123456789:AAE..."),
    ),
    SettingField(
        "webhook_secret",
        N_("Webhook secret"),
        kind="secret",
        help=N_("Telegram sends it with every update; generated when left empty."),
        advanced=True,
    ),
    SettingField(
        "api_base",
        N_("Bot API address"),
        kind="url",
        default=DEFAULT_API_BASE,
        help=N_("Change only to reach Telegram through a proxy."),
        advanced=True,
    ),
)


def validate(settings: dict[str, Any]) -> dict[str, Any]:
    token = str(settings.get("bot_token") or "").strip()
    if not TOKEN_RE.match(token):
        raise Invalid("bot_token", "paste the token from @BotFather: digits, a colon, then letters")
    secret = str(settings.get("webhook_secret") or "").strip() or secrets.token_urlsafe(32)
    if not SECRET_RE.match(secret):
        raise Invalid("webhook_secret", "use 1-256 letters, digits, '-' or '_'")
    api_base = str(settings.get("api_base") or "").strip().rstrip("/") or DEFAULT_API_BASE
    if not re.match(r"^https?://[^\s/]+", api_base):
        raise Invalid("api_base", "must start with https://")
    return {**settings, "bot_token": token, "webhook_secret": secret, "api_base": api_base}


def webhook_url(inbox: Inbox, base_url: str | None = None) -> str:
    base = (base_url or get_settings().public_base_url).rstrip("/")
    return f"{base}/channels/telegram/{inbox.key}/webhook"


async def test_connection(inbox: Inbox) -> TestResult:
    settings = inbox.settings or {}
    try:
        me = await call(api_base_of(settings), str(settings.get("bot_token") or ""), "getMe")
    except TelegramError as exc:
        if exc.code in (401, 404):
            return TestResult(False, "Telegram refused the token: check it with @BotFather")
        return TestResult(False, f"Telegram answered: {exc.description}")
    except httpx.HTTPError as exc:
        return TestResult(False, f"Telegram ({api_base_of(settings)}): {describe_error(exc)}")
    name = me.get("username") if isinstance(me, dict) else None
    return TestResult(True, f"Connected as @{name}")


async def register_webhook(session: AsyncSession, inbox: Inbox) -> None:
    """setWebhook: Telegram posts every update to this inbox's URL with the secret header."""
    settings = inbox.settings or {}
    payload = {
        "url": webhook_url(inbox),
        "secret_token": settings.get("webhook_secret"),
        "allowed_updates": ALLOWED_UPDATES,
    }
    _kit.forget(inbox.key)
    try:
        await call(
            api_base_of(settings), str(settings.get("bot_token") or ""), "setWebhook", payload
        )
    except TelegramError as exc:
        raise BadRequest(f"Telegram did not accept the webhook: {exc.description}") from exc
    except httpx.HTTPError as exc:
        raise BadRequest(f"Telegram ({api_base_of(settings)}): {describe_error(exc)}") from exc


def setup_info(inbox: Inbox, base_url: str) -> list[tuple[str, str]]:
    return [
        (N_("Webhook URL (registered with Telegram when you save)"), webhook_url(inbox, base_url))
    ]


CHANNEL_TYPE = ChannelType(
    channel=CHANNEL,
    label=N_("Telegram bot"),
    fields=FIELDS,
    validate=validate,
    test=test_connection,
    after_save=register_webhook,
    setup=setup_info,
    description=N_("Customers write to your bot in Telegram; agents answer in Omniline."),
)
