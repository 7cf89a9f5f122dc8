"""The WhatsApp inbox form for admins: settings, checks, "Test connection", setup info."""

from __future__ import annotations

import re
import secrets
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from omniline.channels.whatsapp import graph, templates
from omniline.channels.whatsapp.graph import N_
from omniline.errors import BadRequest, Invalid
from omniline.inboxes.channel_types import ChannelType, SettingField, TestResult
from omniline.inboxes.models import Inbox
from omniline.kit.clock import iso, utcnow

VERSION_RE = re.compile(r"^v\d{1,3}\.\d{1,2}$")
ID_RE = re.compile(r"^\d{5,30}$")

FIELDS = (
    SettingField(
        "phone_number_id",
        N_("Phone number ID"),
        required=True,
        help=N_("WhatsApp Manager > API Setup: the ID of the number, not the number itself."),
    ),
    SettingField(
        "waba_id",
        N_("WhatsApp Business Account ID"),
        required=True,
        help=N_("Shown next to the phone number ID; the message templates belong to it."),
    ),
    SettingField(
        "access_token",
        N_("Access token"),
        kind="secret",
        required=True,
        help=N_(
            "A permanent token of a system user with the whatsapp_business_messaging and "
            "whatsapp_business_management permissions."
        ),
    ),
    SettingField(
        "app_secret",
        N_("App secret"),
        kind="secret",
        required=True,
        help=N_("Meta app > App settings > Basic; it signs every webhook Meta sends."),
    ),
    SettingField(
        "verify_token",
        N_("Verify token"),
        help=N_("Any phrase you also type into Meta's webhook form; left empty, one is made."),
    ),
    SettingField(
        "api_base",
        N_("Graph API URL"),
        kind="url",
        default=graph.DEFAULT_API_BASE,
        advanced=True,
        help=N_("Change only to go through a proxy."),
    ),
    SettingField(
        "api_version",
        N_("Graph API version"),
        default=graph.DEFAULT_API_VERSION,
        advanced=True,
    ),
)


def _required_id(settings: dict[str, Any], name: str) -> str:
    value = str(settings.get(name) or "").strip()
    if not ID_RE.match(value):
        raise Invalid(name, "must be the numeric ID Meta shows (digits only)")
    return value


def _required(settings: dict[str, Any], name: str) -> str:
    value = str(settings.get(name) or "").strip()
    if not value:
        raise Invalid(name, "must not be empty")
    if len(value) > 1000 or any(c.isspace() for c in value):
        raise Invalid(name, "must be one word of at most 1,000 characters, as Meta shows it")
    return value


def validate(settings: dict[str, Any]) -> dict[str, Any]:
    out = dict(settings)
    out["phone_number_id"] = _required_id(settings, "phone_number_id")
    out["waba_id"] = _required_id(settings, "waba_id")
    out["access_token"] = _required(settings, "access_token")
    out["app_secret"] = _required(settings, "app_secret")
    token = str(settings.get("verify_token") or "").strip()
    if len(token) > 200 or any(c.isspace() for c in token):
        raise Invalid("verify_token", "must be one word of at most 200 characters")
    out["verify_token"] = token or secrets.token_urlsafe(24)
    base = str(settings.get("api_base") or graph.DEFAULT_API_BASE).strip().rstrip("/")
    if not base.startswith(("https://", "http://")):
        raise Invalid("api_base", "must start with https://")
    out["api_base"] = base
    version = str(settings.get("api_version") or graph.DEFAULT_API_VERSION).strip()
    if not VERSION_RE.match(version):
        raise Invalid("api_version", "must look like v26.0")
    out["api_version"] = version
    kept = settings.get("templates")
    out["templates"] = [t for t in kept if isinstance(t, dict)] if isinstance(kept, list) else []
    return out


def _explain(exc: graph.GraphError, cfg: graph.Config, what: str) -> str:
    if exc.status == 0:
        return f"The Graph API cannot be reached: {exc.message}"
    if exc.code == graph.TOKEN_INVALID:
        return "The access token is invalid or expired."
    if exc.code == graph.UNKNOWN_OBJECT:
        return f"No {what} is visible to this token; check the ID. Graph said: {exc.message}"
    return f"The Graph API refused: {exc.message}"


def _store_templates(inbox: Inbox, found: list[dict[str, Any]]) -> None:
    inbox.settings = {**(inbox.settings or {}), "templates": found, "templates_at": iso(utcnow())}


async def test(inbox: Inbox) -> TestResult:
    """The number's name as Meta shows it, and how many templates are approved."""
    cfg = graph.config_of(inbox)
    try:
        phone = await graph.call(
            cfg, "GET", cfg.phone_number_id, params={"fields": "display_phone_number,verified_name"}
        )
    except graph.GraphError as exc:
        return TestResult(False, _explain(exc, cfg, f"phone number with ID {cfg.phone_number_id}"))
    number = str(phone.get("display_phone_number") or cfg.phone_number_id)
    name = str(phone.get("verified_name") or "")
    try:
        found = await templates.fetch(cfg)
    except graph.GraphError as exc:
        why = _explain(exc, cfg, f"WhatsApp Business Account with ID {cfg.waba_id}")
        return TestResult(False, f"Connected to {number}, but the templates: {why}")
    _store_templates(inbox, found)
    approved = sum(1 for t in found if t["status"] == templates.APPROVED)
    label = f"{number} ({name})" if name else number
    return TestResult(True, f"Connected to {label}; {approved} approved message templates.")


async def after_save(session: AsyncSession, inbox: Inbox) -> None:
    """Fetch the approved templates now, so agents can send them at once."""
    from omniline.channels.whatsapp.webhook import forget

    forget(inbox.key)
    cfg = graph.config_of(inbox)
    try:
        found = await templates.fetch(cfg)
    except graph.GraphError as exc:
        why = _explain(exc, cfg, f"WhatsApp Business Account with ID {cfg.waba_id}")
        raise BadRequest(f"The message templates could not be fetched. {why}") from exc
    _store_templates(inbox, found)
    await session.flush()


def setup(inbox: Inbox, base_url: str) -> list[tuple[str, str]]:
    return [
        (N_("Callback URL"), f"{base_url.rstrip('/')}/channels/whatsapp/{inbox.key}/webhook"),
        (N_("Verify token"), str((inbox.settings or {}).get("verify_token") or "")),
        (N_("Webhook fields to subscribe"), "messages"),
    ]


CHANNEL_TYPE = ChannelType(
    channel="whatsapp",
    label=N_("WhatsApp (Cloud API)"),
    description=N_("A WhatsApp Business number through Meta's Cloud API."),
    fields=FIELDS,
    validate=validate,
    test=test,
    after_save=after_save,
    setup=setup,
)
