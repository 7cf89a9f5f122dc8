"""reports: KPI targets, saved and scheduled report definitions

Revision ID: 0125_reports
Revises: 0124_analytics
Create Date: 2026-12-04 16:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import omniline.kit.models

revision: str = "0125_reports"
down_revision: str | None = "0124_analytics"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "report_targets",
        sa.Column("workspace_id", BIG, nullable=False),
        sa.Column("metric", sa.String(length=32), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspaces.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("workspace_id", "metric"),
    )
    when = omniline.kit.models.UTCDateTime(timezone=True)
    op.create_table(
        "saved_reports",
        sa.Column("id", BIG, autoincrement=True, nullable=False),
        sa.Column("workspace_id", BIG, nullable=False),
        sa.Column("owner_id", BIG, nullable=False),
        sa.Column("shared", sa.Boolean(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("preset", sa.String(length=16), nullable=False),
        sa.Column("by", sa.String(length=8), nullable=False),
        sa.Column("dimension", sa.String(length=16), nullable=False),
        sa.Column("filters", sa.JSON(), nullable=False),
        sa.Column("schedule", sa.JSON(), nullable=True),
        sa.Column("next_run_at", when, nullable=True),
        sa.Column("last_sent_at", when, nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("created_at", when, nullable=False),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspaces.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_saved_reports_ws_owner", "saved_reports", ["workspace_id", "owner_id"])


def downgrade() -> None:
    op.drop_index("ix_saved_reports_ws_owner", table_name="saved_reports")
    op.drop_table("saved_reports")
    op.drop_table("report_targets")
