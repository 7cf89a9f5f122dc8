"""Canned response actions: who may manage which, fuzzy search, and rendering variables.

Shared responses belong to the workspace (administrators and supervisors manage them);
personal ones to one staff member, who alone sees and manages them.
"""

from __future__ import annotations

import re

from sqlalchemy.ext.asyncio import AsyncSession

from omniline.auth.models import Role
from omniline.auth.principal import Principal
from omniline.canned import repository
from omniline.canned.models import SHARED_SCOPE, CannedResponse, personal_scope
from omniline.canned.schemas import (
    PLACEHOLDER,
    VARIABLES,
    clean_shortcut,
    clean_text,
    clean_title,
    clean_translations,
)
from omniline.contacts.models import Contact
from omniline.conversations import service as conversations
from omniline.conversations.views import contact_display_name
from omniline.errors import Forbidden, NotFound, Taken
from omniline.kit.clock import utcnow
from omniline.workspaces.models import Queue

MANAGE_SHARED = frozenset({Role.admin.value, Role.supervisor.value})


def may_manage(p: Principal, c: CannedResponse) -> bool:
    if c.scope == SHARED_SCOPE:
        return p.role in MANAGE_SHARED
    return c.scope == personal_scope(p.user_id)


def check_may_manage_shared(p: Principal) -> None:
    if p.role not in MANAGE_SHARED:
        raise Forbidden("only administrators and supervisors manage shared responses")


async def get_usable(session: AsyncSession, p: Principal, canned_id: int) -> CannedResponse:
    c = await repository.get(session, p.workspace_id, canned_id)
    if c is None or (c.scope != SHARED_SCOPE and c.scope != personal_scope(p.user_id)):
        raise NotFound("no such canned response")
    return c


def _score(c: CannedResponse, q: str) -> int | None:
    """Lower is better; None means no match. Prefix of the shortcut beats a title word."""
    shortcut, title = c.shortcut.lower(), c.title.lower()
    if shortcut.startswith(q):
        return 0
    if any(word.startswith(q) for word in title.split()):
        return 1
    if q in shortcut or q in title:
        return 2
    it = iter(shortcut)
    if all(ch in it for ch in q):  # the letters in order: "grt" finds "greet"
        return 3
    return None


async def search(
    session: AsyncSession, p: Principal, q: str = "", limit: int = 20
) -> list[CannedResponse]:
    items = await repository.usable_by(session, p.workspace_id, p.user_id)
    needle = q.strip().lstrip("/").lower()
    scored: list[tuple[int, bool, str, CannedResponse]] = []
    for c in items:
        score = 0 if not needle else _score(c, needle)
        if score is not None:
            # The agent's own response wins a tie with a shared one of the same shortcut.
            scored.append((score, c.scope == SHARED_SCOPE, c.shortcut, c))
    scored.sort(key=lambda t: t[:3])
    return [t[3] for t in scored[:limit]]


async def _check_free(
    session: AsyncSession, workspace_id: int, scope: str, shortcut: str, own_id: int | None
) -> None:
    other = await repository.by_shortcut(session, workspace_id, scope, shortcut)
    if other is not None and other.id != own_id:
        where = "shared responses" if scope == SHARED_SCOPE else "your responses"
        raise Taken("shortcut", f"/{shortcut} is already used by another of the {where}")


async def do_create(
    session: AsyncSession,
    p: Principal,
    *,
    shared: bool,
    shortcut: str,
    title: str,
    text: str,
    translations: dict[str, str] | None = None,
) -> CannedResponse:
    if shared:
        check_may_manage_shared(p)
    scope = SHARED_SCOPE if shared else personal_scope(p.user_id)
    c = CannedResponse(
        workspace_id=p.workspace_id,
        scope=scope,
        owner_id=None if shared else p.user_id,
        shortcut=clean_shortcut(shortcut),
        title=clean_title(title),
        text=clean_text(text),
        translations=clean_translations(translations or {}),
    )
    await _check_free(session, p.workspace_id, scope, c.shortcut, None)
    session.add(c)
    await session.flush()
    return c


async def do_update(
    session: AsyncSession,
    p: Principal,
    canned_id: int,
    *,
    shortcut: str | None = None,
    title: str | None = None,
    text: str | None = None,
    translations: dict[str, str] | None = None,
) -> CannedResponse:
    c = await get_usable(session, p, canned_id)
    if not may_manage(p, c):
        raise Forbidden("only administrators and supervisors manage shared responses")
    # Every field is checked before any is changed: nothing half-saved.
    new_shortcut = clean_shortcut(shortcut) if shortcut is not None else c.shortcut
    new_title = clean_title(title) if title is not None else c.title
    new_text = clean_text(text) if text is not None else c.text
    new_tr = clean_translations(translations) if translations is not None else c.translations
    await _check_free(session, p.workspace_id, c.scope, new_shortcut, c.id)
    c.shortcut, c.title, c.text, c.translations = new_shortcut, new_title, new_text, new_tr
    c.updated_at = utcnow()
    await session.flush()
    return c


async def do_delete(session: AsyncSession, p: Principal, canned_id: int) -> None:
    c = await get_usable(session, p, canned_id)
    if not may_manage(p, c):
        raise Forbidden("only administrators and supervisors manage shared responses")
    await session.delete(c)
    await session.flush()


def pick_text(c: CannedResponse, language: str | None) -> str:
    """The version in ``language`` (or its base language), else the main text."""
    tr = c.translations or {}
    if language:
        lang = language.lower()
        found = tr.get(lang) or tr.get(lang.split("-")[0])
        if found:
            return str(found)
    return c.text


def fill(text: str, values: dict[str, str]) -> str:
    # One pass, not str.format or chained replaces: a "{agent_name}" a customer typed into
    # their own name is inserted as text and never expanded in turn.
    def one(m: re.Match[str]) -> str:
        name = m.group(1)
        return values.get(name, "") if name in VARIABLES else m.group(0)

    return PLACEHOLDER.sub(one, text)


async def render(
    session: AsyncSession,
    p: Principal,
    conv_id: int,
    canned_id: int,
    language: str | None = None,
) -> tuple[str, str | None]:
    """The response for one conversation: (text, language used for the choice)."""
    conv = await conversations.get_visible(session, p, conv_id)
    c = await get_usable(session, p, canned_id)
    contact = await session.get(Contact, conv.contact_id)
    queue = await session.get(Queue, conv.queue_id) if conv.queue_id is not None else None
    lang = language or conv.language or (contact.language if contact else None)
    values = {
        "contact_name": contact_display_name(contact.name if contact else None, conv.contact_id),
        "agent_name": p.name,
        "queue_name": queue.name if queue is not None else "",
    }
    return fill(pick_text(c, lang), values), lang
