"""The audit log table: append-only, outside every foreign key.

No column references ``users`` or ``workspaces``: a row must outlive the user it
names (the actor's name and email are copied into it), and no cascade may remove
it. Triggers refuse UPDATE and DELETE on both databases, so even a bug in the app
cannot rewrite history; only an operator with direct database access can.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DDL, Index, String, event
from sqlalchemy.orm import Mapped, mapped_column

from omniline.kit.clock import utcnow
from omniline.kit.models import Base, BigId, IdMixin

TABLE = "audit_log"


class AuditEntry(IdMixin, Base):
    __tablename__ = TABLE
    __table_args__ = (
        Index("ix_audit_log_workspace", "workspace_id", "id"),
        Index("ix_audit_log_actor", "workspace_id", "actor_id", "id"),
        Index("ix_audit_log_target", "workspace_id", "target_type", "target_id"),
    )

    workspace_id: Mapped[int | None] = mapped_column(BigId, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Who acted: a user (id copied, not a foreign key), or nobody (a failed sign-in, a job).
    actor_id: Mapped[int | None] = mapped_column(BigId, default=None)
    actor_label: Mapped[str] = mapped_column(String(320), default="")
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str] = mapped_column(String(32), default="")
    target_id: Mapped[str] = mapped_column(String(64), default="")
    target_label: Mapped[str] = mapped_column(String(320), default="")
    ip: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(300), default="")
    # {"before": {...}, "after": {...}} for changes, other details otherwise; secrets redacted.
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)


def append_only_ddl(dialect: str) -> list[str]:
    """Statements that make the table refuse UPDATE and DELETE (shared with the migration)."""
    if dialect == "postgresql":
        return [
            "CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger "
            "LANGUAGE plpgsql AS $$ BEGIN "
            "RAISE EXCEPTION 'audit_log is append-only'; END $$",
            "CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log "
            "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
        ]
    return [
        "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
        "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
        "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
        "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
    ]


for _dialect in ("postgresql", "sqlite"):
    for _stmt in append_only_ddl(_dialect):
        event.listen(AuditEntry.__table__, "after_create", DDL(_stmt).execute_if(dialect=_dialect))
