"""Removing the personal text of conversations while their statistics stay.

What goes: message text, author names of customers, channel details (subjects,
quoted parts, original letters), attachments (rows now, files after the commit),
the conversation's last-message preview and contact address, and the free text of
notes in the timeline. What stays: the conversation row with its status, queue,
channel, tags, timings and counts, the messages as empty rows (direction, author
type, times: the message counts of reports do not change) and the events' types.
"""

from __future__ import annotations

import contextlib
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.config import get_settings
from omniline.conversations.attachments import path_of
from omniline.conversations.models import Attachment, Conversation, ConversationEvent, Message
from omniline.db import after_commit
from omniline.kit.clock import utcnow

REMOVED = ""
# Event data keys that may hold a person's words; the others are ids and names of queues.
EVENT_TEXT_KEYS = ("text", "note", "reason", "comment", "subject")


async def anonymise_conversations(session: AsyncSession, conv_ids: list[int]) -> int:
    """Anonymise these conversations in the caller's transaction; answers how many."""
    if not conv_ids:
        return 0
    now: datetime = utcnow()
    await session.execute(
        update(Message)
        .where(Message.conversation_id.in_(conv_ids))
        .values(text=REMOVED, meta={}, author_name="", external_id=None)
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(Conversation)
        .where(Conversation.id.in_(conv_ids))
        .values(last_message_text=None, contact_address=None, anonymised_at=now)
        .execution_options(synchronize_session=False)
    )
    events = await session.scalars(
        select(ConversationEvent).where(ConversationEvent.conversation_id.in_(conv_ids))
    )
    for ev in events:
        if any(k in (ev.data or {}) for k in EVENT_TEXT_KEYS):
            ev.data = {k: v for k, v in ev.data.items() if k not in EVENT_TEXT_KEYS}
    await _drop_attachments(session, conv_ids)
    await session.flush()
    return len(conv_ids)


async def _drop_attachments(session: AsyncSession, conv_ids: list[int]) -> None:
    msg_ids = select(Message.id).where(Message.conversation_id.in_(conv_ids))
    atts = list(await session.scalars(select(Attachment).where(Attachment.message_id.in_(msg_ids))))
    if not atts:
        return
    keys = {a.storage_key for a in atts}
    for a in atts:
        await session.delete(a)
    await session.flush()
    # A file stored once for several messages stays while another row still uses it.
    shared = set(
        await session.scalars(
            select(Attachment.storage_key)
            .where(Attachment.storage_key.in_(keys))
            .group_by(Attachment.storage_key)
            .having(func.count() > 0)
        )
    )
    gone = sorted(keys - shared)
    settings = get_settings()

    def remove_files() -> None:
        for key in gone:
            with contextlib.suppress(Exception):
                path_of(settings, key).unlink(missing_ok=True)

    after_commit(session, remove_files)
