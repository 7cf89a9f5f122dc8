from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from omniline.kit.clock import utcnow
from omniline.kit.models import Base, BigId, CreatedMixin, IdMixin


class Kind(StrEnum):
    greeting = "greeting"
    out_of_hours = "out_of_hours"
    high_load = "high_load"
    closing = "closing"


class AutoReplyRule(IdMixin, CreatedMixin, Base):
    """One auto-reply for a scope: the workspace, an inbox, a queue, or an inbox and a queue.

    The most specific enabled rule of a kind wins (see ``service.pick_rule``); the
    service keeps one rule per (kind, inbox, queue) so the choice is never a tie.
    """

    __tablename__ = "auto_reply_rules"
    __table_args__ = (Index("ix_auto_reply_rules_ws_kind", "workspace_id", "kind"),)

    workspace_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("workspaces.id", ondelete="CASCADE")
    )
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    inbox_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("inboxes.id", ondelete="CASCADE"), default=None
    )
    queue_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("queues.id", ondelete="CASCADE"), default=None
    )
    enabled: Mapped[bool] = mapped_column(default=True)
    fallback_language: Mapped[str] = mapped_column(String(8), default="en")
    # Shown as the sender in the widget; empty means the inbox's name.
    author_name: Mapped[str] = mapped_column(String(200), default="")
    # A business-hours calendar of omniline.sla (no foreign key: that domain is optional).
    calendar_id: Mapped[int | None] = mapped_column(BigId, default=None)
    # out_of_hours: send it instead of the greeting (True) or after it (False).
    replaces_greeting: Mapped[bool] = mapped_column(default=True)
    # high_load: send when the position is above this, or the estimated wait above that.
    min_position: Mapped[int | None] = mapped_column(default=None)
    min_wait_minutes: Mapped[int | None] = mapped_column(default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class AutoReplyText(Base):
    """The text of a rule in one language."""

    __tablename__ = "auto_reply_texts"

    rule_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("auto_reply_rules.id", ondelete="CASCADE"), primary_key=True
    )
    language: Mapped[str] = mapped_column(String(8), primary_key=True)
    text: Mapped[str] = mapped_column(Text)
