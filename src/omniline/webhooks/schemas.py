"""API shapes of webhook subscriptions and deliveries, and URL validation."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from pydantic import Field
from pydantic.json_schema import JsonDict

from omniline.errors import Invalid
from omniline.kit.clock import iso
from omniline.kit.fields import SPACE, JsonIn
from omniline.webhooks.models import (
    EVENT_TYPES,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
)

URL_MAX = 2000
_PORT = r"(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[0-9]{1,4})"
# What clean_url accepts, for the schema: http(s), a host without a user name, a port that
# exists, no spaces inside (around it they are trimmed).
URL_PATTERN = rf"^[{SPACE}]*https?://[^{SPACE}/?#@:\[\]]+(:{_PORT})?([/?#][^{SPACE}]*)?[{SPACE}]*$"
_URL = Field(max_length=URL_MAX, json_schema_extra={"pattern": URL_PATTERN})
# clean_event_types words its own refusals (none chosen, an unknown one); the schema agrees.
_EVENT_LIST: JsonDict = {"minItems": 1, "items": {"type": "string", "enum": list(EVENT_TYPES)}}
_EVENTS = Field(max_length=len(EVENT_TYPES), json_schema_extra=_EVENT_LIST)


class SubscriptionIn(JsonIn):
    url: str = _URL
    event_types: list[str] = _EVENTS
    description: str = Field(default="", max_length=200)
    enabled: bool = True


class SubscriptionPatch(JsonIn):
    url: str | None = Field(
        default=None, max_length=URL_MAX, json_schema_extra={"pattern": URL_PATTERN}
    )
    event_types: list[str] | None = Field(
        default=None, max_length=len(EVENT_TYPES), json_schema_extra=_EVENT_LIST
    )
    description: str | None = Field(default=None, max_length=200)
    enabled: bool | None = None


def clean_url(raw: str) -> str:
    """An absolute http(s) URL with a host. Private and loopback hosts are allowed on
    purpose: lenders run their compensation and CRM services on internal networks, and
    only an administrator of the workspace can point a webhook anywhere."""
    url = raw.strip()
    if not url:
        raise Invalid("url", "must not be empty")
    if len(url) > URL_MAX:
        raise Invalid("url", f"must be at most {URL_MAX} characters")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise Invalid("url", "is not a valid URL") from None
    if parts.scheme not in ("http", "https"):
        raise Invalid("url", "must start with http:// or https://")
    if not parts.hostname:
        raise Invalid("url", "must name a host, e.g. https://crm.example.com/hooks")
    if parts.username or parts.password:
        raise Invalid("url", "must not carry a user name or password; the signature authenticates")
    if any(ch.isspace() for ch in url):
        raise Invalid("url", "must not contain spaces")
    return url


def clean_event_types(raw: list[str]) -> list[str]:
    chosen = sorted({t.strip() for t in raw if t.strip()})
    if not chosen:
        raise Invalid("event_types", "choose at least one event")
    unknown = [t for t in chosen if t not in EVENT_TYPES]
    if unknown:
        raise Invalid(
            "event_types", f"unknown event {unknown[0]!r}; one of {', '.join(EVENT_TYPES)}"
        )
    return [t for t in EVENT_TYPES if t in chosen]


def subscription_view(sub: WebhookSubscription, *, with_secret: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": sub.id,
        "url": sub.url,
        "description": sub.description,
        "event_types": list(sub.event_types or []),
        "enabled": sub.enabled,
        "created_at": iso(sub.created_at),
        "updated_at": iso(sub.updated_at),
    }
    if with_secret:
        out["secret"] = sub.secret
    return out


def attempt_view(a: WebhookAttempt) -> dict[str, Any]:
    return {
        "number": a.number,
        "at": iso(a.created_at),
        "status_code": a.status_code,
        "error": a.error,
        "duration_ms": a.duration_ms,
    }


def delivery_view(
    d: WebhookDelivery, attempts: list[WebhookAttempt] | None = None
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": d.id,
        "uuid": d.uuid,
        "subscription_id": d.subscription_id,
        "event_type": d.event_type,
        "status": d.status,
        "attempts": d.attempts,
        "last_status_code": d.last_status_code,
        "last_error": d.last_error,
        "last_duration_ms": d.last_duration_ms,
        "next_attempt_at": iso(d.next_attempt_at),
        "created_at": iso(d.created_at),
        "finished_at": iso(d.finished_at),
    }
    if attempts is not None:
        out["attempt_log"] = [attempt_view(a) for a in attempts]
    return out
