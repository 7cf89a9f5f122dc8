from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, event, update
from sqlalchemy.orm import Mapped, Session, attributes, mapped_column

from omniline.conversations.card_numbers import mask_message_fields
from omniline.kit.clock import utcnow
from omniline.kit.models import Base, BigId, CreatedMixin, IdMixin


class Status(StrEnum):
    bot = "bot"
    queued = "queued"
    assigned = "assigned"
    waiting_customer = "waiting_customer"
    resolved = "resolved"
    closed = "closed"


OPEN_STATUSES = (Status.bot, Status.queued, Status.assigned, Status.waiting_customer)


class Direction(StrEnum):
    inbound = "in"
    outbound = "out"


class AuthorType(StrEnum):
    contact = "contact"
    agent = "agent"
    bot = "bot"
    system = "system"


class Delivery(StrEnum):
    received = "received"
    queued = "queued"
    # A send failed for a reason that may pass (a timeout, a 5xx); another attempt is scheduled.
    retrying = "retrying"
    sent = "sent"
    delivered = "delivered"
    read = "read"
    failed = "failed"
    # The worker stopped while the provider was being called (or it never answered) on a
    # channel where a second send shows twice: it may or may not have arrived; the agent decides.
    unconfirmed = "unconfirmed"


class Conversation(IdMixin, CreatedMixin, Base):
    """One case from one contact through one inbox.

    The ``last_message_*`` and ``first_*`` columns are denormalised on purpose:
    the conversation list and the metrics read them without joins.
    """

    __tablename__ = "conversations"
    __table_args__ = (
        Index("ix_conv_ws_activity", "workspace_id", "last_activity_at", "id"),
        # Conversations without an SLA due time, by id: the tail of the "due first" sort.
        Index("ix_conv_ws_id", "workspace_id", "id"),
        Index("ix_conv_ws_status_activity", "workspace_id", "status", "last_activity_at", "id"),
        Index("ix_conv_ws_queue_activity", "workspace_id", "queue_id", "last_activity_at", "id"),
        Index("ix_conv_ws_assignee_activity", "workspace_id", "assignee_id", "last_activity_at"),
        Index("ix_conv_contact_inbox", "contact_id", "inbox_id", "status"),
        # Counts by status on every list page read these alone (migration 0106).
        Index("ix_conv_ws_status", "workspace_id", "status"),
        Index("ix_conv_ws_queue_status", "workspace_id", "queue_id", "status"),
        Index("ix_conv_ws_assignee_status", "workspace_id", "assignee_id", "status"),
    )

    workspace_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("workspaces.id", ondelete="CASCADE")
    )
    inbox_id: Mapped[int] = mapped_column(BigId, ForeignKey("inboxes.id", ondelete="CASCADE"))
    # active_history: a change knows the value it replaces (presence/loads.py moves agents'
    # loads by it, without reading the row again).
    channel: Mapped[str] = mapped_column(String(32), active_history=True)
    contact_id: Mapped[int] = mapped_column(BigId, ForeignKey("contacts.id", ondelete="CASCADE"))
    queue_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("queues.id", ondelete="SET NULL"), default=None
    )
    assignee_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="SET NULL"), default=None, active_history=True
    )
    status: Mapped[str] = mapped_column(
        String(24), default=Status.queued.value, active_history=True
    )
    priority: Mapped[int] = mapped_column(default=0)
    language: Mapped[str | None] = mapped_column(String(8), default=None)
    topic: Mapped[str | None] = mapped_column(String(100), default=None)
    tags: Mapped[list[Any]] = mapped_column(default=list)
    # Where replies go in the channel (an email address, a Telegram chat id, a phone):
    # a contact merged from several identities keeps each conversation's own address.
    contact_address: Mapped[str | None] = mapped_column(String(320), default=None)
    last_activity_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_message_text: Mapped[str | None] = mapped_column(String(200), default=None)
    last_message_direction: Mapped[str | None] = mapped_column(String(3), default=None)
    last_message_at: Mapped[datetime | None] = mapped_column(default=None)
    first_queued_at: Mapped[datetime | None] = mapped_column(default=None)
    first_assigned_at: Mapped[datetime | None] = mapped_column(default=None)
    first_agent_reply_at: Mapped[datetime | None] = mapped_column(default=None)
    resolved_at: Mapped[datetime | None] = mapped_column(default=None)
    # Set when retention or an erasure request removed the personal text (privacy/).
    anonymised_at: Mapped[datetime | None] = mapped_column(default=None)


class ConversationTag(Base):
    """Index of tags for filtering; the list itself lives on ``Conversation.tags``.

    ``status`` repeats the conversation's status so that the list's counts of a tag
    (on every page) read this index alone instead of joining every conversation. It is
    kept by the two listeners at the end of this module, not by the services.
    """

    __tablename__ = "conversation_tags"
    # Covering: a tag filter reads the conversation ids, and a tag's counts by status,
    # from the index alone (migration 0118).
    __table_args__ = (
        Index(
            "ix_conversation_tags_ws_tag_status",
            "workspace_id",
            "tag",
            "status",
            "conversation_id",
        ),
    )

    conversation_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(64), primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("workspaces.id", ondelete="CASCADE")
    )
    # Set at flush from the conversation (_tag_statuses_of_new_tags).
    status: Mapped[str] = mapped_column(String(24))


class Message(IdMixin, CreatedMixin, Base):
    __tablename__ = "messages"
    __table_args__ = (
        # A retried webhook or a re-sent widget message is stored once.
        UniqueConstraint("inbox_id", "external_id"),
        Index("ix_messages_conversation", "conversation_id", "id"),
    )

    workspace_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("workspaces.id", ondelete="CASCADE")
    )
    conversation_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("conversations.id", ondelete="CASCADE")
    )
    inbox_id: Mapped[int] = mapped_column(BigId, ForeignKey("inboxes.id", ondelete="CASCADE"))
    external_id: Mapped[str | None] = mapped_column(String(200), default=None)
    direction: Mapped[str] = mapped_column(String(3))
    author_type: Mapped[str] = mapped_column(String(16))
    author_id: Mapped[int | None] = mapped_column(BigId, default=None)
    author_name: Mapped[str] = mapped_column(String(200), default="")
    text: Mapped[str] = mapped_column(Text, default="")
    private: Mapped[bool] = mapped_column(default=False)
    delivery_status: Mapped[str] = mapped_column(String(16), default=Delivery.received.value)
    delivery_error: Mapped[str | None] = mapped_column(String(500), default=None)
    # Channel details the agent may see or a sender needs (MESSAGE_META in
    # conversations/inbound.py lists the keys every channel shares).
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Attachment(IdMixin, CreatedMixin, Base):
    """A file kept on disk under the uploads folder; the row holds its metadata."""

    __tablename__ = "attachments"

    workspace_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("workspaces.id", ondelete="CASCADE")
    )
    message_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("messages.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(128))
    size: Mapped[int] = mapped_column()
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(255))
    # Set on a part of a letter that its HTML shows as a picture (``cid:``): shown inline,
    # not listed as a file (conversations/inline_parts.py).
    content_id: Mapped[str | None] = mapped_column(String(255), default=None)


class ReplyKey(IdMixin, CreatedMixin, Base):
    """An agent's ``Idempotency-Key``: the same key again returns the reply stored the first
    time instead of storing it twice (conversations/reply_keys.py)."""

    __tablename__ = "reply_keys"
    __table_args__ = (
        UniqueConstraint("workspace_id", "author_id", "key", name="uq_reply_keys_author_key"),
    )

    workspace_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("workspaces.id", ondelete="CASCADE")
    )
    author_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(200))
    # sha256 of what was asked (conversation, text, note or reply, files): a key sent again
    # with another request is refused.
    fingerprint: Mapped[str] = mapped_column(String(64))
    # Set in the same transaction as the key; gone with the message (an erased contact).
    message_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("messages.id", ondelete="CASCADE"), default=None, index=True
    )


class ConversationEvent(IdMixin, CreatedMixin, Base):
    """Append-only log of everything that happens to a conversation."""

    __tablename__ = "conversation_events"
    __table_args__ = (Index("ix_conv_events_conversation", "conversation_id", "id"),)

    workspace_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("workspaces.id", ondelete="CASCADE")
    )
    conversation_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("conversations.id", ondelete="CASCADE")
    )
    type: Mapped[str] = mapped_column(String(32))
    actor_type: Mapped[str] = mapped_column(String(16), default="system")
    actor_id: Mapped[int | None] = mapped_column(BigId, default=None)
    actor_name: Mapped[str] = mapped_column(String(200), default="")
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)


def _mask_card_numbers(_mapper: Any, _conn: Any, msg: Message) -> None:
    """Every message written through the ORM (replies, auto-replies, notes, edits): see
    conversations/card_numbers.py; the batched customer path masks in receive.py."""
    text, meta = mask_message_fields(msg.text or "", msg.meta or {})
    if meta is not msg.meta and meta:
        msg.text, msg.meta = text, meta


event.listen(Message, "before_insert", _mask_card_numbers)
event.listen(Message, "before_update", _mask_card_numbers)


def _tag_statuses_of_new_tags(session: Session, _context: Any, _instances: Any) -> None:
    """A new tag row takes its conversation's status as this flush writes it.

    Every writer of tag rows holds the conversation (routing, tag edits, SLA actions),
    and a status changed in the same flush must not leave the row with the old one.
    """
    for obj in session.new:
        if isinstance(obj, ConversationTag):
            key = session.identity_key(Conversation, obj.conversation_id)
            conv = session.identity_map.get(key)
            if isinstance(conv, Conversation):
                obj.status = conv.status


def _tag_statuses_follow(_mapper: Any, conn: Any, conv: Conversation) -> None:
    """Whatever changed the status (a service, a job, a customer's message), its tag rows follow.

    Conversations without tags (most of them) cost nothing: ``tags`` says there are none.
    """
    if not attributes.get_history(conv, "status").has_changes():
        return
    if conv.__dict__.get("tags", True) == []:
        return
    conn.execute(
        update(ConversationTag)
        .where(ConversationTag.conversation_id == conv.id)
        .values(status=conv.status)
    )


event.listen(Session, "before_flush", _tag_statuses_of_new_tags)
event.listen(Conversation, "after_update", _tag_statuses_follow)
