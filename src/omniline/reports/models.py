"""What the reports page keeps: the workspace's KPI targets."""

from __future__ import annotations

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from omniline.kit.models import Base, BigId


class ReportTarget(Base):
    """One KPI target of a workspace (a metric of docs/metrics.md); no row: the default."""

    __tablename__ = "report_targets"

    workspace_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    metric: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[float] = mapped_column()
