"""auto-replies: rules per inbox/queue and their texts per language

Revision ID: 0104
Revises: 0001
Create Date: 2026-11-25 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import omniline.kit.models

revision: str = "0104"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = omniline.kit.models.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "auto_reply_rules",
        sa.Column("workspace_id", ID, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("inbox_id", ID, nullable=True),
        sa.Column("queue_id", ID, nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("fallback_language", sa.String(length=8), nullable=False),
        sa.Column("author_name", sa.String(length=200), nullable=False),
        sa.Column("calendar_id", ID, nullable=True),
        sa.Column("replaces_greeting", sa.Boolean(), nullable=False),
        sa.Column("min_position", sa.Integer(), nullable=True),
        sa.Column("min_wait_minutes", sa.Integer(), nullable=True),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_auto_reply_rules_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["inbox_id"],
            ["inboxes.id"],
            name=op.f("fk_auto_reply_rules_inbox_id_inboxes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["queue_id"],
            ["queues.id"],
            name=op.f("fk_auto_reply_rules_queue_id_queues"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auto_reply_rules")),
    )
    op.create_index(
        "ix_auto_reply_rules_ws_kind", "auto_reply_rules", ["workspace_id", "kind"], unique=False
    )
    op.create_table(
        "auto_reply_texts",
        sa.Column("rule_id", ID, nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["rule_id"],
            ["auto_reply_rules.id"],
            name=op.f("fk_auto_reply_texts_rule_id_auto_reply_rules"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("rule_id", "language", name=op.f("pk_auto_reply_texts")),
    )


def downgrade() -> None:
    op.drop_table("auto_reply_texts")
    op.drop_index("ix_auto_reply_rules_ws_kind", table_name="auto_reply_rules")
    op.drop_table("auto_reply_rules")
