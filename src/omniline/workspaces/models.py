from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from omniline.kit.models import Base, BigId, CreatedMixin, IdMixin


class Workspace(IdMixin, CreatedMixin, Base):
    """A tenant: one client company of an outsourcing centre."""

    __tablename__ = "workspaces"

    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    default_locale: Mapped[str] = mapped_column(String(8), default="en")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    # When queue or team memberships last changed: open staff sockets reload what they may see.
    access_changed_at: Mapped[datetime | None] = mapped_column(default=None)
    # Roles that must use two-factor sign-in (auth/totp.py).
    two_factor_roles: Mapped[list[Any]] = mapped_column(default=list)
    # Conversations closed longer ago than this many days lose their personal text
    # (omniline/retention); None keeps everything.
    retention_days: Mapped[int | None] = mapped_column(default=None)


class Team(IdMixin, CreatedMixin, Base):
    __tablename__ = "teams"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)

    workspace_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("workspaces.id", ondelete="CASCADE")
    )
    name: Mapped[str] = mapped_column(String(200))


class TeamMember(Base):
    __tablename__ = "team_members"

    team_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class Queue(IdMixin, CreatedMixin, Base):
    """A department or line ("First line", "Business assistants")."""

    __tablename__ = "queues"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)

    workspace_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("workspaces.id", ondelete="CASCADE")
    )
    name: Mapped[str] = mapped_column(String(200))
    team_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("teams.id", ondelete="SET NULL"), default=None
    )
    priority: Mapped[int] = mapped_column(default=0)


class QueueMember(Base):
    __tablename__ = "queue_members"
    __table_args__ = (Index("ix_queue_members_user", "user_id"),)

    queue_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("queues.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
