"""Realtime events of conversations, published after commit."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from omniline.conversations.models import Attachment, Conversation, ConversationEvent, Message
from omniline.conversations.repository import Row
from omniline.conversations.views import (
    contact_display_name,
    event_view,
    message_view,
    summary_view,
    widget_message_view,
)
from omniline.realtime.events import Audience, RealtimeEvent
from omniline.realtime.service import publish_on_commit


def summary_of(row: Row, *, locked: bool = False) -> dict[str, object]:
    return summary_view(
        row.conv,
        queue_name=row.queue_name,
        inbox_name=row.inbox_name,
        assignee_name=row.assignee_name,
        contact_name=contact_display_name(row.contact_name, row.conv.contact_id),
        locked=locked,
    )


def conversation_changed(session: AsyncSession, row: Row, *, created: bool) -> None:
    conv = row.conv
    publish_on_commit(
        session,
        RealtimeEvent(
            type="conversation.created" if created else "conversation.updated",
            data=summary_of(row),
            audience=Audience(
                workspace_id=conv.workspace_id,
                queue_id=conv.queue_id,
                assignee_id=conv.assignee_id,
                locked_data=summary_of(row, locked=True),
                contact_id=conv.contact_id,
                inbox_id=conv.inbox_id,
                contact_data={"conversation_id": conv.id, "status": conv.status},
            ),
        ),
    )


def message_created(
    session: AsyncSession, conv: Conversation, msg: Message, atts: list[Attachment]
) -> None:
    publish_on_commit(
        session,
        RealtimeEvent(
            type="message.created",
            data={"conversation_id": conv.id, "message": message_view(msg, atts)},
            audience=Audience(
                workspace_id=conv.workspace_id,
                queue_id=conv.queue_id,
                assignee_id=conv.assignee_id,
                contact_id=None if msg.private else conv.contact_id,
                inbox_id=conv.inbox_id,
                contact_data=None if msg.private else widget_message_view(msg, atts),
            ),
        ),
    )


def timeline_event(session: AsyncSession, conv: Conversation, ev: ConversationEvent) -> None:
    publish_on_commit(
        session,
        RealtimeEvent(
            type="timeline.event",
            data={"conversation_id": conv.id, "event": event_view(ev)},
            audience=Audience(
                workspace_id=conv.workspace_id, queue_id=conv.queue_id, assignee_id=conv.assignee_id
            ),
        ),
    )


def message_status(
    session: AsyncSession, conv: Conversation, msg: Message, atts: list[Attachment]
) -> None:
    """The delivery status of an outbound message changed (staff only)."""
    publish_on_commit(
        session,
        RealtimeEvent(
            type="message.updated",
            data={"conversation_id": conv.id, "message": message_view(msg, atts)},
            audience=Audience(
                workspace_id=conv.workspace_id, queue_id=conv.queue_id, assignee_id=conv.assignee_id
            ),
        ),
    )
