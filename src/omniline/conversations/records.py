"""Small pieces every conversation action shares: the actor, timeline events, previews."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from omniline.auth.principal import Principal
from omniline.conversations.attachments import StoredFile
from omniline.conversations.models import (
    OPEN_STATUSES,
    Attachment,
    AuthorType,
    Conversation,
    ConversationEvent,
    Message,
)
from omniline.kit.clock import utcnow
from omniline.kit.hooks import DomainEvent

PREVIEW_CHARS = 200
OPEN_VALUES = frozenset(s.value for s in OPEN_STATUSES)


@dataclass(slots=True)
class Received:
    message: Message
    attachments: list[Attachment] = field(default_factory=list)
    duplicate: bool = False


@dataclass(slots=True)
class Actor:
    type: str
    id: int | None
    name: str

    @classmethod
    def of(cls, p: Principal) -> Actor:
        return cls(AuthorType.agent.value, p.user_id, p.name)


SYSTEM = Actor(AuthorType.system.value, None, "")


def _add_event(
    session: AsyncSession,
    conv: Conversation,
    type_: str,
    actor: Actor,
    data: dict[str, object],
    at: datetime | None = None,
) -> ConversationEvent:
    ev = ConversationEvent(
        workspace_id=conv.workspace_id,
        conversation_id=conv.id,
        type=type_,
        actor_type=actor.type,
        actor_id=actor.id,
        actor_name=actor.name,
        data=data,
        created_at=at or utcnow(),
    )
    session.add(ev)
    return ev


def _touch(conv: Conversation, msg: Message) -> None:
    if msg.private:
        return
    conv.last_activity_at = msg.created_at
    conv.last_message_at = msg.created_at
    conv.last_message_direction = msg.direction
    conv.last_message_text = preview(msg.text or "")


def preview(text: str) -> str:
    """A message's text as the list shows it (``last_message_text``)."""
    return (text[: PREVIEW_CHARS - 1] + "…") if len(text) > PREVIEW_CHARS else text


def _attach(session: AsyncSession, msg: Message, files: list[StoredFile]) -> list[Attachment]:
    atts = [
        Attachment(
            workspace_id=msg.workspace_id,
            message_id=msg.id,
            filename=f.filename,
            content_type=f.content_type,
            size=f.size,
            sha256=f.sha256,
            storage_key=f.storage_key,
            content_id=f.content_id,
        )
        for f in files
    ]
    session.add_all(atts)
    return atts


def _conv_event(type_: str, conv: Conversation, **extra: object) -> DomainEvent:
    return DomainEvent(
        type_,
        conv.workspace_id,
        {"conversation_id": conv.id, "queue_id": conv.queue_id, **extra},
    )
