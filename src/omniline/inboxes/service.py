"""Creating and configuring inboxes (entry points of channels)."""

from __future__ import annotations

import re
import secrets
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from omniline.errors import Conflict, Invalid
from omniline.inboxes import repository
from omniline.inboxes.models import Inbox
from omniline.workspaces import repository as workspaces

KEY_RE = re.compile(r"^[A-Za-z0-9_-]{3,64}$")
COLOR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")
CHANNELS = ("webchat", "email", "telegram", "whatsapp", "vk", "messenger", "mobile", "voice")
NAME_MAX = 200
GREETING_MAX = 1000


def _check_name(name: str) -> None:
    if not name.strip():
        raise Invalid("name", "must not be empty")
    if len(name.strip()) > NAME_MAX:
        raise Invalid("name", f"must be at most {NAME_MAX} characters long")


def _check_greeting(greeting: str) -> None:
    if len(greeting) > GREETING_MAX:
        raise Invalid("greeting", f"at most {GREETING_MAX:,} characters")


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
        raise Conflict(f"the inbox key {key} is taken")
    if default_queue_id is not None and (
        await workspaces.queue(session, workspace_id, default_queue_id) is None
    ):
        raise Invalid("default_queue_id", "no such queue in this workspace")
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
        raise Invalid("default_queue_id", "no such queue in this workspace")
    inbox.name = name.strip()
    inbox.default_queue_id = default_queue_id
    inbox.settings = {**(inbox.settings or {}), "color": color, "greeting": greeting.strip()}
    inbox.enabled = enabled
    await session.flush()
    return inbox
