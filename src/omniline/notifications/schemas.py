"""Shapes of the notifications API."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from omniline.kit.clock import iso
from omniline.kit.fields import NOT_BLANK, SPACE, JsonIn
from omniline.notifications.models import Notification, NotificationTemplate
from omniline.notifications.service import KEY, LANGUAGE, MAX_TEXT

TEMPLATE_KEY = KEY.pattern
TEMPLATE_LANGUAGE = LANGUAGE.pattern
# What the service reads as a language code: LANGUAGE once stripped and lowered.
TEXT_LANGUAGE = rf"^[{SPACE}]*[A-Za-z]{{2,3}}(-[A-Za-z0-9]{{2,8}})?[{SPACE}]*$"

Channel = Literal["webchat", "telegram", "whatsapp", "vk", "messenger", "email"]


class NotificationIn(JsonIn):
    external_id: str = Field(min_length=1, max_length=200)
    template: str = Field(min_length=1, max_length=64)
    # Numbers arrive as floats (JSON has one number type); whole ones are shown without ".0".
    variables: dict[str, str | float | bool] = Field(default_factory=dict, max_length=50)
    # Or the Idempotency-Key header: the same key sends once, however often it is retried.
    idempotency_key: str | None = Field(default=None, min_length=1, max_length=200)
    # Leave out to use the customer's preferred, else last used channel.
    channel: Channel | None = None


class TemplateWhatsApp(JsonIn):
    name: str = Field(min_length=1, max_length=512, json_schema_extra={"pattern": NOT_BLANK})
    # The approved template's language code per text language, e.g. {"ru": "ru", "en": "en_US"}.
    language: dict[str, str] = Field(default_factory=dict)
    params: list[str] = Field(default_factory=list, max_length=20)


class TemplateIn(JsonIn):
    """``fallback_language`` must be one of the languages of ``texts`` with a text that is not
    blank, and at least one text must be: 422 otherwise (schemathesis.toml), as a JSON schema
    cannot compare a value with another field's keys."""

    key: str = Field(min_length=1, max_length=64, json_schema_extra={"pattern": TEMPLATE_KEY})
    name: str = Field(default="", max_length=200)
    # Keys are language codes, also in capitals or with spaces around (the service lowers and
    # strips them); a blank text is left out.
    texts: dict[str, str] = Field(
        min_length=1,
        max_length=30,
        json_schema_extra={
            "propertyNames": {"pattern": TEXT_LANGUAGE},
            "additionalProperties": {"type": "string", "maxLength": MAX_TEXT},
        },
    )
    # Left out, null or "": the first language of ``texts``.
    fallback_language: str | None = Field(
        default=None,
        max_length=16,
        json_schema_extra={"pattern": f"^({TEXT_LANGUAGE[1:-1]})?$"},
    )
    whatsapp: TemplateWhatsApp | None = None
    enabled: bool = True


class OptOutIn(JsonIn):
    external_id: str = Field(min_length=1, max_length=200)
    opt_out: bool


def template_view(t: NotificationTemplate) -> dict[str, Any]:
    return {
        "id": t.id,
        "key": t.key,
        "name": t.name,
        "texts": t.texts,
        "fallback_language": t.fallback_language,
        "whatsapp": t.whatsapp or None,
        "enabled": t.enabled,
    }


def notification_view(n: Notification, delivery: str | None, error: str | None) -> dict[str, Any]:
    return {
        "id": n.id,
        "idempotency_key": n.idempotency_key,
        "template": n.template_key,
        "status": n.status,
        "reason": n.reason or None,
        "channel": n.channel,
        "language": n.language,
        "conversation_id": n.conversation_id,
        "message_id": n.message_id,
        "delivery_status": delivery,
        "delivery_error": error,
        "created_at": iso(n.created_at),
    }
