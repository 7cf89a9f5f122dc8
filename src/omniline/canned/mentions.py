"""@mentions in private notes: a ``mentioned`` event and a live notice to the colleague.

Listens to ``message.created`` (kit.hooks) instead of living in the conversation
service: the note is already flushed, and the event, like the note, commits or not.
"""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.auth.models import User
from omniline.conversations import notify
from omniline.conversations.models import AuthorType, Conversation, ConversationEvent, Message
from omniline.kit import hooks
from omniline.realtime.events import Audience, RealtimeEvent
from omniline.realtime.service import publish_on_commit

EXCERPT = 200


def mentioned(text: str, people: list[User]) -> list[User]:
    """People named as ``@Full Name`` (or ``@emailname``) in ``text``, longest names first so
    "@Anna Maria" is not also read as a mention of "Anna"."""
    found: list[User] = []
    rest = text
    keyed = [(u.name, u) for u in people if u.name] + [(u.email.split("@")[0], u) for u in people]
    for key, user in sorted(keyed, key=lambda kv: -len(kv[0])):
        pattern = re.compile("@" + re.escape(key) + r"(?!\w)", re.IGNORECASE)
        if pattern.search(rest):
            rest = pattern.sub(" ", rest)
            if user not in found:
                found.append(user)
    return found


async def on_message(session: AsyncSession, event: hooks.DomainEvent) -> None:
    data = event.data
    if not data.get("private") or data.get("author_type") != AuthorType.agent.value:
        return
    msg = await session.scalar(
        select(Message).where(
            Message.id == data["message_id"], Message.workspace_id == event.workspace_id
        )
    )
    if msg is None or "@" not in (msg.text or ""):
        return
    people = list(
        await session.scalars(
            select(User).where(
                User.workspace_id == event.workspace_id,
                User.active.is_(True),
                User.id != (msg.author_id or 0),
            )
        )
    )
    targets = mentioned(msg.text, people)
    if not targets:
        return
    conv = await session.get(Conversation, msg.conversation_id)
    if conv is None:
        return
    for user in targets:
        await _record(session, conv, msg, user)


async def _record(session: AsyncSession, conv: Conversation, msg: Message, user: User) -> None:
    ev = ConversationEvent(
        workspace_id=conv.workspace_id,
        conversation_id=conv.id,
        type="mentioned",
        actor_type=AuthorType.agent.value,
        actor_id=msg.author_id,
        actor_name=msg.author_name,
        data={"user_id": user.id, "user_name": user.name, "message_id": msg.id},
        created_at=msg.created_at,
    )
    session.add(ev)
    await session.flush()
    notify.timeline_event(session, conv, ev)
    text = msg.text or ""
    publish_on_commit(
        session,
        RealtimeEvent(
            type="mention",
            data={
                "conversation_id": conv.id,
                "message_id": msg.id,
                "by": {"id": msg.author_id, "name": msg.author_name},
                "excerpt": text[:EXCERPT] + ("…" if len(text) > EXCERPT else ""),
            },
            audience=Audience(workspace_id=conv.workspace_id, user_id=user.id),
        ),
    )


def register() -> None:
    hooks.on("message.created", on_message)
