"""imports: where each imported call came from

Revision ID: 0126_imports_bi
Revises: 0125_reports
Create Date: 2026-12-04 16:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import omniline.kit.models

revision: str = "0126_imports_bi"
down_revision: str | None = "0125_reports"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "imported_calls",
        sa.Column("workspace_id", BIG, nullable=False),
        sa.Column("voice_call_id", BIG, nullable=False),
        sa.Column("source_key", sa.String(length=64), nullable=False),
        sa.Column("vru_line", sa.String(length=32), nullable=False),
        sa.Column("customer_id", sa.String(length=32), nullable=False),
        sa.Column("call_type", sa.String(length=8), nullable=False),
        sa.Column("agent_name", sa.String(length=64), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("id", BIG, autoincrement=True, nullable=False),
        sa.Column("created_at", omniline.kit.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["voice_call_id"],
            ["voice_calls.id"],
            name=op.f("fk_imported_calls_voice_call_id_voice_calls"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_imported_calls_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_imported_calls")),
        sa.UniqueConstraint("workspace_id", "source_key", name="uq_imported_calls_source_key"),
    )
    with op.batch_alter_table("imported_calls", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_imported_calls_voice_call_id"), ["voice_call_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("imported_calls", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_imported_calls_voice_call_id"))
    op.drop_table("imported_calls")
