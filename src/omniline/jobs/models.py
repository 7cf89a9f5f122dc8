from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from omniline.kit.clock import utcnow
from omniline.kit.models import Base, CreatedMixin, IdMixin


class JobState(StrEnum):
    pending = "pending"
    running = "running"
    done = "done"
    failed = "failed"


class Job(IdMixin, CreatedMixin, Base):
    """Durable work written in the same transaction as the change that caused it."""

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_due", "state", "run_at"),)

    kind: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    workspace_id: Mapped[int | None] = mapped_column(default=None)
    state: Mapped[str] = mapped_column(String(16), default=JobState.pending.value)
    run_at: Mapped[datetime] = mapped_column(default=utcnow)
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=8)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    locked_by: Mapped[str | None] = mapped_column(String(64), default=None)
    locked_until: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    # The request that caused it (its X-Request-ID): the job's log lines carry it too.
    request_id: Mapped[str] = mapped_column(String(64), default="")
