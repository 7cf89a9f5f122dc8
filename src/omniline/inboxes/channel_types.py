"""What each channel tells the admin pages: its settings form, checks and connection test.

A channel package registers one ``ChannelType`` in its ``register()``; the generic admin
pages (workspaces/pages_channels.py) render the form, keep secrets masked, validate, save
and run "Test connection" from it. The core never imports a channel.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from omniline.errors import Invalid
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
    __test__ = False  # not a pytest test class, though tests import it

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


def unregister_channel_type(channel: str) -> None:
    """Forget a channel type (tests register their own and clean up after)."""
    _types.pop(channel, None)


@contextmanager
def channel_type_registered(ct: ChannelType) -> Iterator[ChannelType]:
    """Register ``ct`` for the duration of a ``with`` block, then put back what was there."""
    previous = _types.get(ct.channel)
    register_channel_type(ct)
    try:
        yield ct
    finally:
        if previous is None:
            unregister_channel_type(ct.channel)
        else:
            register_channel_type(previous)


# The admin form hands ``clean_settings`` what was typed: text kinds as stripped strings
# ("" when blank), checkboxes as bools, numbers as strings. It returns what is stored.
TEXT_MAX = 2000
TEXTAREA_MAX = 20000


def clean_settings(
    ct: ChannelType, values: dict[str, Any], stored: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Check the typed values against the fields, run the channel's ``validate``, merge.

    An empty secret keeps the stored one. Keys of ``stored`` the form doesn't show (state a
    channel keeps, e.g. a generated webhook secret) are kept and visible to ``validate``.
    Keys starting with "_" belong to the core and are not shown to ``validate``.
    Raises ``Invalid(field, reason)``.
    """
    stored = dict(stored or {})
    given: dict[str, Any] = {}
    for f in ct.fields:
        value = values.get(f.name)
        if f.kind == "secret" and not value:
            value = stored.get(f.name) or ""
        given[f.name] = _checked_value(f, value)
    visible = {k: v for k, v in stored.items() if not k.startswith("_")}
    cleaned = ct.validate({**visible, **given})
    return {**stored, **cleaned}


def _checked_value(f: SettingField, value: Any) -> Any:
    if f.kind == "checkbox":
        return bool(value)
    text = "" if value is None else str(value)
    limit = TEXTAREA_MAX if f.kind == "textarea" else TEXT_MAX
    if len(text) > limit:
        raise Invalid(f.name, f"must be at most {limit:,} characters long")
    if not text:
        if f.required:
            raise Invalid(f.name, "must not be empty")
        return None if f.kind == "number" else ""
    if f.kind == "number":
        return _number(f.name, text)
    if f.kind == "select" and text not in {value for value, _label in f.choices}:
        raise Invalid(f.name, "choose one of the options")
    return text


def _number(name: str, text: str) -> int | float:
    try:
        return int(text)
    except ValueError:
        pass
    try:
        number = float(text)
    except ValueError:
        raise Invalid(name, "must be a number") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise Invalid(name, "must be a number")
    return number
