"""Creating and configuring inboxes (entry points of channels)."""

from __future__ import annotations

import logging
import re
import secrets
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from omniline.audit import service as audit
from omniline.audit.redact import snapshot
from omniline.errors import DomainError, Invalid, NoSuch, Taken
from omniline.inboxes import repository
from omniline.inboxes.channel_types import ChannelType, clean_settings
from omniline.inboxes.models import Inbox
from omniline.kit.http import describe_error
from omniline.workspaces import repository as workspaces

KEY_RE = re.compile(r"^[A-Za-z0-9_-]{3,64}$")
COLOR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")
CHANNELS = ("webchat", "email", "telegram", "whatsapp", "vk", "messenger", "mobile", "voice")
NAME_MAX = 200
GREETING_MAX = 1000
# Settings key (core-only, never shown to a channel's validate) of the last after-save failure.
SETUP_ERROR = "_setup_error"
log = logging.getLogger(__name__)


def _check_name(name: str) -> None:
    if not name.strip():
        raise Invalid("name", "must not be empty")
    if len(name.strip()) > NAME_MAX:
        raise Invalid("name", f"must be at most {NAME_MAX} characters long")


def _check_greeting(greeting: str) -> None:
    if len(greeting) > GREETING_MAX:
        raise Invalid("greeting", f"at most {GREETING_MAX:,} characters")


INBOX_FIELDS = ("channel", "name", "default_queue_id", "enabled", "settings", "identity_secret")


async def _audit(
    session: AsyncSession, action: str, inbox: Inbox, before: dict[str, Any] | None
) -> None:
    await audit.record_change(
        session, action, inbox, INBOX_FIELDS, before, target_type="inbox", label=inbox.name
    )


async def do_create_inbox(
    session: AsyncSession,
    workspace_id: int,
    *,
    channel: str,
    name: str,
    key: str | None = None,
    default_queue_id: int | None = None,
    settings: dict[str, Any] | None = None,
    identity_secret: str | None = None,
) -> Inbox:
    if channel not in CHANNELS:
        raise Invalid("channel", f"must be one of {', '.join(CHANNELS)}")
    _check_name(name)
    key = key or secrets.token_urlsafe(12)
    if not KEY_RE.match(key):
        raise Invalid("key", "use 3-64 letters, digits, '-' or '_'")
    if await repository.by_key(session, key) is not None:
        raise Taken("key", f"the inbox key {key} is taken")
    if default_queue_id is not None and (
        await workspaces.queue(session, workspace_id, default_queue_id) is None
    ):
        raise NoSuch("default_queue_id", "no such queue in this workspace")
    settings = dict(settings or {})
    color = settings.get("color", "#1f6feb")
    if not COLOR_RE.match(str(color)):
        raise Invalid("color", "must look like #1f6feb")
    settings["color"] = color
    settings["greeting"] = str(settings.get("greeting") or "").strip()
    _check_greeting(settings["greeting"])
    inbox = Inbox(
        workspace_id=workspace_id,
        channel=channel,
        name=name.strip(),
        key=key,
        identity_secret=identity_secret or secrets.token_hex(32),
        default_queue_id=default_queue_id,
        settings=settings,
    )
    session.add(inbox)
    await session.flush()
    await _audit(session, "inbox.created", inbox, None)
    return inbox


async def do_update_inbox(
    session: AsyncSession,
    inbox: Inbox,
    *,
    name: str,
    default_queue_id: int | None,
    color: str,
    greeting: str,
    enabled: bool,
) -> Inbox:
    _check_name(name)
    if not COLOR_RE.match(color):
        raise Invalid("color", "must look like #1f6feb")
    _check_greeting(greeting.strip())
    if default_queue_id is not None and (
        await workspaces.queue(session, inbox.workspace_id, default_queue_id) is None
    ):
        raise NoSuch("default_queue_id", "no such queue in this workspace")
    before = snapshot(inbox, INBOX_FIELDS)
    inbox.name = name.strip()
    inbox.default_queue_id = default_queue_id
    inbox.settings = {**(inbox.settings or {}), "color": color, "greeting": greeting.strip()}
    inbox.enabled = enabled
    await session.flush()
    await _audit(session, "inbox.updated", inbox, before)
    return inbox


async def _check_queue(session: AsyncSession, workspace_id: int, queue_id: int | None) -> None:
    if queue_id is not None and await workspaces.queue(session, workspace_id, queue_id) is None:
        raise NoSuch("default_queue_id", "no such queue in this workspace")


async def do_create_channel_inbox(
    session: AsyncSession,
    workspace_id: int,
    ct: ChannelType,
    *,
    name: str,
    default_queue_id: int | None,
    enabled: bool,
    values: dict[str, Any],
) -> Inbox:
    """An inbox of a registered channel type from its admin form (see ``clean_settings``)."""
    _check_name(name)
    await _check_queue(session, workspace_id, default_queue_id)
    settings = clean_settings(ct, values)
    inbox = Inbox(
        workspace_id=workspace_id,
        channel=ct.channel,
        name=name.strip(),
        key=secrets.token_urlsafe(12),
        identity_secret=secrets.token_hex(32),
        default_queue_id=default_queue_id,
        settings=settings,
        enabled=enabled,
    )
    session.add(inbox)
    await session.flush()
    await _audit(session, "inbox.created", inbox, None)
    return inbox


async def do_update_channel_inbox(
    session: AsyncSession,
    inbox: Inbox,
    ct: ChannelType,
    *,
    name: str,
    default_queue_id: int | None,
    enabled: bool,
    values: dict[str, Any],
) -> Inbox:
    """Save the admin form; an empty secret keeps the stored one."""
    _check_name(name)
    await _check_queue(session, inbox.workspace_id, default_queue_id)
    before = snapshot(inbox, INBOX_FIELDS)
    inbox.settings = clean_settings(ct, values, inbox.settings)
    inbox.name = name.strip()
    inbox.default_queue_id = default_queue_id
    inbox.enabled = enabled
    await session.flush()
    await _audit(session, "inbox.updated", inbox, before)
    return inbox


async def run_after_save(session: AsyncSession, inbox: Inbox, ct: ChannelType) -> str | None:
    """The channel's after-save step (e.g. registering the webhook); keeps the inbox.

    Its failure is remembered in the settings (``SETUP_ERROR``) so the inbox page shows it
    until a later save succeeds; returns it too.
    """
    error: str | None = None
    if ct.after_save is not None:
        try:
            await ct.after_save(session, inbox)
        except DomainError as exc:
            error = exc.message
        except Exception as exc:  # a channel's bug must not lose the saved inbox
            log.exception("after_save of %s inbox %s failed", ct.channel, inbox.id)
            error = describe_error(exc)
    settings = {k: v for k, v in (inbox.settings or {}).items() if k != SETUP_ERROR}
    if error:
        settings[SETUP_ERROR] = error
    inbox.settings = settings
    await session.flush()
    return error
