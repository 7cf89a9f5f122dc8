from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from omniline.kit.clock import utcnow
from omniline.kit.models import Base, BigId, CreatedMixin, IdMixin


class NotificationTemplate(IdMixin, CreatedMixin, Base):
    """What the lender's CRM may tell a customer ("your application was approved"), per language."""

    __tablename__ = "notification_templates"
    __table_args__ = (
        UniqueConstraint("workspace_id", "key", name="uq_notification_templates_ws_key"),
    )

    workspace_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    key: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    # {"ru": "Заявка {{application}} одобрена", ...}
    texts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    fallback_language: Mapped[str] = mapped_column(String(16), default="en")
    # Outside WhatsApp's 24-hour window: the approved template {"name", "language": {lang:
    # code}, "params": ["{{application}}", ...]}.
    whatsapp: Mapped[dict[str, Any]] = mapped_column(default=dict)
    enabled: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class NotificationStatus(StrEnum):
    sent = "sent"  # stored and handed to the channel's delivery (see the message's status)
    opted_out = "opted_out"
    no_channel = "no_channel"


class Notification(IdMixin, CreatedMixin, Base):
    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("workspace_id", "idempotency_key", name="uq_notifications_idem"),
        Index("ix_notifications_contact", "contact_id", "id"),
    )

    workspace_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    idempotency_key: Mapped[str] = mapped_column(String(200))
    contact_id: Mapped[int] = mapped_column(BigId, ForeignKey("contacts.id", ondelete="CASCADE"))
    template_key: Mapped[str] = mapped_column(String(64))
    variables: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str | None] = mapped_column(String(32), default=None)
    language: Mapped[str | None] = mapped_column(String(16), default=None)
    conversation_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("conversations.id", ondelete="SET NULL"), default=None
    )
    message_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("messages.id", ondelete="SET NULL"), default=None
    )
    reason: Mapped[str] = mapped_column(String(500), default="")
