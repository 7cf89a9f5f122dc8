"""What the reports page keeps: KPI targets, saved and scheduled report definitions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from omniline.kit.models import Base, BigId, CreatedMixin, IdMixin


class ReportTarget(Base):
    """One KPI target of a workspace (a metric of docs/metrics.md); no row: the default."""

    __tablename__ = "report_targets"

    workspace_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    metric: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[float] = mapped_column()


class SavedReport(IdMixin, CreatedMixin, Base):
    """A report definition someone saved: personal, or shared with the workspace; with a
    ``schedule`` it is mailed (``next_run_at`` is when the pending ``report_mail`` job runs)."""

    __tablename__ = "saved_reports"
    __table_args__ = (Index("ix_saved_reports_ws_owner", "workspace_id", "owner_id"),)

    workspace_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("workspaces.id", ondelete="CASCADE")
    )
    owner_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"))
    shared: Mapped[bool] = mapped_column(default=False)
    name: Mapped[str] = mapped_column(String(100))
    preset: Mapped[str] = mapped_column(String(16))
    by: Mapped[str] = mapped_column(String(8), default="day")
    dimension: Mapped[str] = mapped_column(String(16), default="agent")
    filters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # {"every": "daily|weekly|monthly", "hour": 0-23, "recipients": [...], "inbox_id": N}
    schedule: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    next_run_at: Mapped[datetime | None] = mapped_column(default=None)
    last_sent_at: Mapped[datetime | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(String(500), default=None)
