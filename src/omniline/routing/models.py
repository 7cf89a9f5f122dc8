from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from omniline.kit.clock import utcnow
from omniline.kit.models import Base, BigId, CreatedMixin, IdMixin


class RoutingRule(IdMixin, CreatedMixin, Base):
    """One rule: when ALL ``conditions`` match a new conversation, apply ``actions``.

    ``conditions`` and ``actions`` are JSON validated by ``routing.schemas`` before
    they are stored. Rules are tried by ``priority`` (higher first), then ``position``.
    """

    __tablename__ = "routing_rules"
    __table_args__ = (
        UniqueConstraint("workspace_id", "name"),
        Index("ix_routing_rules_ws_order", "workspace_id", "priority", "position"),
    )

    workspace_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("workspaces.id", ondelete="CASCADE")
    )
    name: Mapped[str] = mapped_column(String(200))
    priority: Mapped[int] = mapped_column(default=0)
    position: Mapped[int] = mapped_column(default=0)
    enabled: Mapped[bool] = mapped_column(default=True)
    conditions: Mapped[list[Any]] = mapped_column(default=list)
    actions: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class RoutingVersion(Base):
    """A counter bumped on every rule change of a workspace.

    Each process caches its compiled rules keyed by this number, so a change made
    through another process is seen on the next routing (one indexed read).
    """

    __tablename__ = "routing_versions"

    workspace_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(BigInteger, default=1)
