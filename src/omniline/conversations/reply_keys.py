"""Idempotency keys of agents' replies and notes (docs/api.md).

A client sends a fresh ``Idempotency-Key`` with each reply and the same one when it retries
it. The first request stores the message and the key together; a retry, even one that
crossed the first in flight, gets that message back and stores nothing (no second message,
event or delivery). The same key from the same agent with another request is refused: a key
names one reply.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.auth.principal import Principal
from omniline.conversations import repository
from omniline.conversations.models import Message, ReplyKey
from omniline.conversations.records import Received
from omniline.errors import Conflict
from omniline.kit.idempotency import insert_once

REUSED = "this key was sent with another request; send a new key with each new reply"


@dataclass(frozen=True, slots=True)
class Idempotency:
    key: str
    fingerprint: str


def fingerprint(
    conversation_id: int,
    text: str,
    *,
    private: bool,
    files: Sequence[tuple[str, str]] = (),
    meta: dict[str, Any] | None = None,
) -> str:
    """What a reply asks for: the conversation, the text, note or reply, the files (name,
    sha256) and channel details (a WhatsApp template)."""
    asked = [conversation_id, text, private, [list(f) for f in files], meta or {}]
    return hashlib.sha256(orjson.dumps(asked, option=orjson.OPT_SORT_KEYS)).hexdigest()


async def _row(session: AsyncSession, p: Principal, key: str) -> ReplyKey | None:
    found: ReplyKey | None = await session.scalar(
        select(ReplyKey).where(
            ReplyKey.workspace_id == p.workspace_id,
            ReplyKey.author_id == p.user_id,
            ReplyKey.key == key,
        )
    )
    return found


async def _replay(session: AsyncSession, row: ReplyKey, asked: Idempotency) -> Received:
    message = await session.get(Message, row.message_id) if row.message_id else None
    if row.fingerprint != asked.fingerprint or message is None:
        raise Conflict(
            f"idempotency_key: {REUSED}", fields=[{"field": "idempotency_key", "message": REUSED}]
        )
    atts = await repository.attachments_for(session, [message.id])
    return Received(message, atts.get(message.id, []), duplicate=True)


async def earlier(session: AsyncSession, p: Principal, asked: Idempotency) -> Received | None:
    """The reply stored under this key before (``duplicate``), or ``None``; raises
    ``Conflict`` when the key was sent with another request."""
    row = await _row(session, p, asked.key)
    return None if row is None else await _replay(session, row, asked)


async def claim(
    session: AsyncSession, p: Principal, asked: Idempotency
) -> tuple[ReplyKey, None] | tuple[None, Received]:
    """Hold the key for the reply about to be stored (set ``message_id`` on the row), or the
    reply of a request with the same key that committed meanwhile. The first write of the
    reply: nothing else is undone when another request holds the key."""
    row = ReplyKey(
        workspace_id=p.workspace_id,
        author_id=p.user_id,
        key=asked.key,
        fingerprint=asked.fingerprint,
    )
    winner = await insert_once(session, row, lambda: _row(session, p, asked.key))
    if winner is not None:
        return None, await _replay(session, winner, asked)
    return row, None
