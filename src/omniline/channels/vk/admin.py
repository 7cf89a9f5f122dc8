"""The VK community inbox on the admin pages: settings, checks, connection test, setup."""

from __future__ import annotations

import re
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.channels import _kit
from omniline.channels.vk.client import (
    DEFAULT_API_BASE,
    DEFAULT_VERSION,
    VkError,
    call,
    config_of,
)
from omniline.errors import Invalid
from omniline.inboxes.channel_types import ChannelType, SettingField, TestResult
from omniline.inboxes.models import Inbox
from omniline.kit.http import describe_error

CHANNEL = "vk"
VERSION_RE = re.compile(r"^5\.\d{1,4}$")
SECRET_RE = re.compile(r"^[A-Za-z0-9]{1,50}$")


def N_(message: str) -> str:
    return message


FIELDS = (
    SettingField(
        "group_id",
        N_("Community ID"),
        required=True,
        help=N_("The number in Manage → API usage → Callback API, e.g. 218276154"),
    ),
    SettingField(
        "access_token",
        N_("Community access token"),
        kind="secret",
        required=True,
        help=N_("Manage → API usage → Access tokens; allow community messages and photos/docs"),
    ),
    SettingField(
        "secret_key",
        N_("Secret key"),
        kind="secret",
        required=True,
        help=N_("The same secret key you set in the Callback API server settings"),
    ),
    SettingField(
        "confirmation_code",
        N_("Confirmation code"),
        required=True,
        help=N_("The string VK shows under “String to be returned”"),
    ),
    SettingField(
        "api_base",
        N_("API address"),
        kind="url",
        default=DEFAULT_API_BASE,
        help=N_("Change only to reach VK through a proxy."),
        advanced=True,
    ),
    SettingField("api_version", N_("API version"), default=DEFAULT_VERSION, advanced=True),
)


def validate(settings: dict[str, Any]) -> dict[str, Any]:
    group = _kit.text_setting(settings, "group_id").removeprefix("club").removeprefix("public")
    if not group.isdigit() or int(group) <= 0:
        raise Invalid("group_id", "the community ID is a positive number")
    token = _kit.text_setting(settings, "access_token")
    if len(token) < 20 or any(c.isspace() for c in token):
        raise Invalid("access_token", "paste the whole community access token")
    secret = _kit.text_setting(settings, "secret_key")
    if not SECRET_RE.match(secret):
        raise Invalid("secret_key", "VK allows 1-50 Latin letters and digits")
    code = _kit.text_setting(settings, "confirmation_code")
    if not code or len(code) > 100 or any(c.isspace() for c in code):
        raise Invalid("confirmation_code", "paste the string VK shows, without spaces")
    version = _kit.text_setting(settings, "api_version", DEFAULT_VERSION)
    if not VERSION_RE.match(version):
        raise Invalid("api_version", "looks like 5.199")
    return {
        **settings,
        "group_id": group,
        "access_token": token,
        "secret_key": secret,
        "confirmation_code": code,
        "api_base": _kit.clean_api_base(_kit.text_setting(settings, "api_base"), DEFAULT_API_BASE),
        "api_version": version,
    }


async def test_connection(inbox: Inbox) -> TestResult:
    cfg = config_of(inbox.settings or {})
    try:
        found = await call(cfg, "groups.getById", {"group_id": cfg.group_id})
    except VkError as exc:
        return TestResult(False, f"VK refused: {exc.reason}")
    except httpx.HTTPError as exc:
        return TestResult(False, f"VK could not be reached: {describe_error(exc)}")
    groups = found.get("groups") if isinstance(found, dict) else found
    group = groups[0] if isinstance(groups, list) and groups else {}
    if not isinstance(group, dict) or group.get("id") != cfg.group_id:
        return TestResult(False, "The token belongs to another community: check the community ID")
    return TestResult(True, f"Connected to the community “{group.get('name', cfg.group_id)}”")


async def saved(session: AsyncSession, inbox: Inbox) -> None:
    _kit.forget(inbox.key)


def callback_url(inbox: Inbox, base_url: str) -> str:
    return f"{base_url.rstrip('/')}/channels/vk/{inbox.key}/callback"


def setup_info(inbox: Inbox, base_url: str) -> list[tuple[str, str]]:
    version = str((inbox.settings or {}).get("api_version") or DEFAULT_VERSION)
    return [
        (N_("Callback API server address"), callback_url(inbox, base_url)),
        (N_("API version to choose in VK"), version),
        (N_("Event types to turn on"), "message_new"),
    ]


CHANNEL_TYPE = ChannelType(
    channel=CHANNEL,
    label=N_("VK community messages"),
    fields=FIELDS,
    validate=validate,
    test=test_connection,
    after_save=saved,
    setup=setup_info,
    description=N_(
        "Messages written to your VK community arrive as conversations; agents answer "
        "with text, files and reply buttons."
    ),
)
