"""The Messenger (Facebook Page) inbox on the admin pages: settings, test, subscription."""

from __future__ import annotations

import re
import secrets
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.channels import _kit
from omniline.channels.messenger.graph import (
    DEFAULT_API_BASE,
    DEFAULT_VERSION,
    GraphError,
    call,
    config_of,
)
from omniline.errors import BadRequest, Invalid
from omniline.inboxes.channel_types import ChannelType, SettingField, TestResult
from omniline.inboxes.models import Inbox
from omniline.kit.http import describe_error

CHANNEL = "messenger"
VERSION_RE = re.compile(r"^v\d{1,3}\.\d{1,2}$")
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{8,200}$")
FIELDS_SUBSCRIBED = "messages,messaging_postbacks,message_deliveries,message_reads"


def N_(message: str) -> str:
    return message


FIELDS = (
    SettingField("page_id", N_("Page ID"), required=True, help=N_("The Facebook Page's number")),
    SettingField(
        "page_access_token",
        N_("Page access token"),
        kind="secret",
        required=True,
        help=N_("A long-lived token of the page with pages_messaging permission"),
    ),
    SettingField(
        "app_secret",
        N_("App secret"),
        kind="secret",
        required=True,
        help=N_("App settings → Basic → App secret; it checks that events come from Meta"),
    ),
    SettingField(
        "verify_token",
        N_("Verify token"),
        help=N_("Paste it in the app's webhook settings; generated when left empty"),
    ),
    SettingField(
        "human_agent_tag",
        N_("Reply up to 7 days with the human agent tag"),
        kind="checkbox",
        default=True,
        help=N_("Needs the Human Agent permission of your Meta app; otherwise 24 hours"),
    ),
    SettingField(
        "api_base",
        N_("Graph API address"),
        kind="url",
        default=DEFAULT_API_BASE,
        help=N_("Change only to reach Facebook through a proxy."),
        advanced=True,
    ),
    SettingField("api_version", N_("Graph API version"), default=DEFAULT_VERSION, advanced=True),
)


def validate(settings: dict[str, Any]) -> dict[str, Any]:
    page_id = _kit.text_setting(settings, "page_id")
    if not page_id.isdigit():
        raise Invalid("page_id", "the page ID is a number")
    token = _kit.text_setting(settings, "page_access_token")
    if len(token) < 20 or any(c.isspace() for c in token):
        raise Invalid("page_access_token", "paste the whole page access token")
    secret = _kit.text_setting(settings, "app_secret")
    if not re.fullmatch(r"[0-9a-fA-F]{16,128}", secret):
        raise Invalid("app_secret", "the app secret is a string of hex digits")
    verify = _kit.text_setting(settings, "verify_token") or secrets.token_urlsafe(24)
    if not TOKEN_RE.match(verify):
        raise Invalid("verify_token", "use 8-200 letters, digits, '-' or '_'")
    version = _kit.text_setting(settings, "api_version", DEFAULT_VERSION)
    if not VERSION_RE.match(version):
        raise Invalid("api_version", "looks like v24.0")
    return {
        **settings,
        "page_id": page_id,
        "page_access_token": token,
        "app_secret": secret,
        "verify_token": verify,
        "human_agent_tag": bool(settings.get("human_agent_tag", True)),
        "api_base": _kit.clean_api_base(_kit.text_setting(settings, "api_base"), DEFAULT_API_BASE),
        "api_version": version,
    }


async def test_connection(inbox: Inbox) -> TestResult:
    cfg = config_of(inbox.settings or {})
    try:
        me = await call(cfg, "GET", "me", params={"fields": "id,name"})
    except GraphError as exc:
        return TestResult(False, f"Facebook refused: {exc.reason}")
    except httpx.HTTPError as exc:
        return TestResult(False, f"Facebook could not be reached: {describe_error(exc)}")
    if str(me.get("id")) != cfg.page_id:
        return TestResult(False, "The token belongs to another page: check the page ID")
    return TestResult(True, f"Connected to the page “{me.get('name', cfg.page_id)}”")


async def subscribe_page(session: AsyncSession, inbox: Inbox) -> None:
    """Subscribe the app to the page's messaging events (subscribed_apps)."""
    _kit.forget(inbox.key)
    cfg = config_of(inbox.settings or {})
    params = {"subscribed_fields": FIELDS_SUBSCRIBED}
    try:
        await call(cfg, "POST", f"{cfg.page_id}/subscribed_apps", params=params)
    except GraphError as exc:
        raise BadRequest(f"Facebook did not subscribe the page: {exc.reason}") from exc
    except httpx.HTTPError as exc:
        raise BadRequest(f"Facebook could not be reached: {describe_error(exc)}") from exc


def webhook_url(inbox: Inbox, base_url: str) -> str:
    return f"{base_url.rstrip('/')}/channels/messenger/{inbox.key}/webhook"


def setup_info(inbox: Inbox, base_url: str) -> list[tuple[str, str]]:
    return [
        (N_("Callback URL"), webhook_url(inbox, base_url)),
        (N_("Verify token"), str((inbox.settings or {}).get("verify_token") or "")),
        (N_("Webhook fields to subscribe"), FIELDS_SUBSCRIBED),
    ]


CHANNEL_TYPE = ChannelType(
    channel=CHANNEL,
    label=N_("Facebook Messenger"),
    fields=FIELDS,
    validate=validate,
    test=test_connection,
    after_save=subscribe_page,
    setup=setup_info,
    description=N_(
        "Messages to your Facebook Page arrive as conversations; agents answer within "
        "Messenger's reply window with text, files and quick replies."
    ),
)
