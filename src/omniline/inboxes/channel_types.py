"""What each channel tells the admin pages: its settings form, checks and connection test.

A channel package registers one ``ChannelType`` in its ``register()``; the generic admin
pages (workspaces/pages_channels.py) render the form, keep secrets masked, validate, save
and run "Test connection" from it. The core never imports a channel.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from omniline.inboxes.models import Inbox

FieldKind = Literal["text", "secret", "url", "email", "number", "checkbox", "select", "textarea"]


@dataclass(frozen=True, slots=True)
class SettingField:
    """One entry of ``Inbox.settings``. Labels and help are English msgids (translated)."""

    name: str
    label: str
    kind: FieldKind = "text"
    required: bool = False
    help: str = ""
    default: Any = None
    choices: tuple[tuple[str, str], ...] = ()  # (value, label) for kind="select"
    advanced: bool = False  # shown folded under "Advanced" (API base URL for a proxy...)


@dataclass(frozen=True, slots=True)
class TestResult:
    ok: bool
    message: str  # plain words for the admin: "Connected as @microlend_bot", "Wrong token"


# validate(settings) -> cleaned settings; raises omniline.errors.Invalid(field, reason).
Validator = Callable[[dict[str, Any]], dict[str, Any]]
# test(inbox) -> TestResult; must never raise for a network/auth problem (say it instead).
Tester = Callable[[Inbox], Awaitable[TestResult]]
# after_save(session, inbox) -> None: e.g. register the webhook with the provider. May raise
# omniline.errors.DomainError with a clear message; the form shows it.
AfterSave = Callable[[AsyncSession, Inbox], Awaitable[None]]
# setup(inbox, base_url) -> [(label, value)]: what the admin copies elsewhere (webhook URL,
# verify token), shown on the inbox page.
SetupInfo = Callable[[Inbox, str], list[tuple[str, str]]]


@dataclass(frozen=True, slots=True)
class ChannelType:
    channel: str
    label: str
    fields: tuple[SettingField, ...]
    validate: Validator
    test: Tester | None = None
    after_save: AfterSave | None = None
    setup: SetupInfo | None = None
    description: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


_types: dict[str, ChannelType] = {}


def register_channel_type(ct: ChannelType) -> None:
    _types[ct.channel] = ct


def channel_type(channel: str) -> ChannelType | None:
    return _types.get(channel)


def channel_types() -> list[ChannelType]:
    return [_types[k] for k in sorted(_types)]
