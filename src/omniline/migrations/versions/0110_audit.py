"""Audit log (append-only), a workspace's retention setting, anonymised conversations.

Revision ID: 0110_audit
Revises: 0109
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from omniline.audit.models import append_only_ddl

revision = "0110_audit"
down_revision = "0109"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("workspace_id", BigId, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", BigId, nullable=True),
        sa.Column("actor_label", sa.String(320), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("target_type", sa.String(32), nullable=False),
        sa.Column("target_id", sa.String(64), nullable=False),
        sa.Column("target_label", sa.String(320), nullable=False),
        sa.Column("ip", sa.String(64), nullable=False),
        sa.Column("user_agent", sa.String(300), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index("ix_audit_log_workspace", "audit_log", ["workspace_id", "id"])
    op.create_index("ix_audit_log_actor", "audit_log", ["workspace_id", "actor_id", "id"])
    op.create_index(
        "ix_audit_log_target", "audit_log", ["workspace_id", "target_type", "target_id"]
    )
    op.add_column("workspaces", sa.Column("retention_days", sa.Integer(), nullable=True))
    op.add_column(
        "conversations", sa.Column("anonymised_at", sa.DateTime(timezone=True), nullable=True)
    )
    for stmt in append_only_ddl(op.get_bind().dialect.name):
        op.execute(stmt)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_change ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")
    op.drop_table("audit_log")
    with op.batch_alter_table("conversations") as batch:
        batch.drop_column("anonymised_at")
    with op.batch_alter_table("workspaces") as batch:
        batch.drop_column("retention_days")
