"""Business-hours calendars, SLA policies per queue, and per-conversation SLA timers."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from omniline.kit.clock import utcnow
from omniline.kit.models import Base, BigId, CreatedMixin, IdMixin


class Target(StrEnum):
    first_response = "first_response"
    next_response = "next_response"
    resolution = "resolution"


class BusinessCalendar(IdMixin, CreatedMixin, Base):
    """Working hours in one IANA time zone.

    ``hours``: ``{"mon": [{"start": "09:00", "end": "18:00"}], ...}`` (local wall time,
    ``end`` may be ``"24:00"``). ``holidays``: ``[{"date": "2026-01-01", "name": "...",
    "hours": [...]}]`` where ``hours`` are that day's working hours (empty: closed).
    """

    __tablename__ = "sla_calendars"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)

    workspace_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("workspaces.id", ondelete="CASCADE")
    )
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64))
    hours: Mapped[dict[str, Any]] = mapped_column(default=dict)
    holidays: Mapped[list[Any]] = mapped_column(default=list)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class SlaPolicy(IdMixin, CreatedMixin, Base):
    """Targets of one queue, in seconds of business time (24/7 without a calendar)."""

    __tablename__ = "sla_policies"
    __table_args__ = (
        UniqueConstraint("workspace_id", "name"),
        # One active policy per queue, enforced by the database as well as the service.
        Index(
            "uq_sla_policies_active_queue",
            "queue_id",
            unique=True,
            sqlite_where=text("active"),
            postgresql_where=text("active"),
        ),
    )

    workspace_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("workspaces.id", ondelete="CASCADE")
    )
    name: Mapped[str] = mapped_column(String(200))
    queue_id: Mapped[int] = mapped_column(BigId, ForeignKey("queues.id", ondelete="CASCADE"))
    calendar_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("sla_calendars.id", ondelete="RESTRICT"), default=None
    )
    active: Mapped[bool] = mapped_column(default=True)
    first_response_seconds: Mapped[int | None] = mapped_column(default=None)
    next_response_seconds: Mapped[int | None] = mapped_column(default=None)
    resolution_seconds: Mapped[int | None] = mapped_column(default=None)
    warning_share: Mapped[float] = mapped_column(Float, default=0.8)
    # Subsets of {"notify", "tag", "webhook"}.
    warning_actions: Mapped[list[Any]] = mapped_column(default=list)
    breach_actions: Mapped[list[Any]] = mapped_column(default=list)
    warning_tag: Mapped[str | None] = mapped_column(String(64), default=None)
    breach_tag: Mapped[str | None] = mapped_column(String(64), default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class SlaTimer(IdMixin, CreatedMixin, Base):
    """One running (or finished) SLA clock of one conversation.

    A timer is open while ``satisfied_at`` and ``cancelled_at`` are both empty.
    ``warned_at`` / ``breached_at`` are set once, by a conditional UPDATE.
    """

    __tablename__ = "sla_timers"
    __table_args__ = (
        Index("ix_sla_timers_conversation", "conversation_id", "target"),
        Index("ix_sla_timers_ws_due", "workspace_id", "due_at"),
    )

    workspace_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("workspaces.id", ondelete="CASCADE")
    )
    conversation_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("conversations.id", ondelete="CASCADE")
    )
    policy_id: Mapped[int] = mapped_column(BigId, ForeignKey("sla_policies.id", ondelete="CASCADE"))
    target: Mapped[str] = mapped_column(String(24))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    due_at: Mapped[datetime] = mapped_column()
    warn_at: Mapped[datetime | None] = mapped_column(default=None)
    warned_at: Mapped[datetime | None] = mapped_column(default=None)
    breached_at: Mapped[datetime | None] = mapped_column(default=None)
    satisfied_at: Mapped[datetime | None] = mapped_column(default=None)
    cancelled_at: Mapped[datetime | None] = mapped_column(default=None)


class SlaDue(Base):
    """The earliest open due time of a conversation: the key of the "due first" list sort.

    Kept by the SLA service whenever a timer opens or closes, so the conversation
    list sorts and pages on an indexed column instead of aggregating timers.
    """

    __tablename__ = "sla_due"
    __table_args__ = (Index("ix_sla_due_ws_due", "workspace_id", "due_at", "conversation_id"),)

    conversation_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
    )
    workspace_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("workspaces.id", ondelete="CASCADE")
    )
    due_at: Mapped[datetime] = mapped_column()
    warn_at: Mapped[datetime | None] = mapped_column(default=None)
    target: Mapped[str] = mapped_column(String(24))
    breached: Mapped[bool] = mapped_column(default=False)
    warned: Mapped[bool] = mapped_column(default=False)
