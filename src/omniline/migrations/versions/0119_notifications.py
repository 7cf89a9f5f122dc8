"""proactive notifications: templates, sent notifications, a contact's opt-out

Revision ID: 0119_notifications
Revises: 0118_bots
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0119_notifications"
down_revision: str | None = "0118_bots"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
When = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "notification_templates",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column(
            "workspace_id",
            BigId,
            sa.ForeignKey("workspaces.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("texts", sa.JSON(), nullable=False),
        sa.Column("fallback_language", sa.String(16), nullable=False),
        sa.Column("whatsapp", sa.JSON(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", When, nullable=False),
        sa.Column("updated_at", When, nullable=False),
        sa.UniqueConstraint("workspace_id", "key", name="uq_notification_templates_ws_key"),
    )
    op.create_index(
        "ix_notification_templates_workspace_id", "notification_templates", ["workspace_id"]
    )
    op.create_table(
        "notifications",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column(
            "workspace_id",
            BigId,
            sa.ForeignKey("workspaces.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("idempotency_key", sa.String(200), nullable=False),
        sa.Column(
            "contact_id", BigId, sa.ForeignKey("contacts.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("template_key", sa.String(64), nullable=False),
        sa.Column("variables", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("channel", sa.String(32), nullable=True),
        sa.Column("language", sa.String(16), nullable=True),
        sa.Column(
            "conversation_id",
            BigId,
            sa.ForeignKey("conversations.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column(
            "message_id", BigId, sa.ForeignKey("messages.id", ondelete="SET NULL"), nullable=True
        ),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("created_at", When, nullable=False),
        sa.UniqueConstraint("workspace_id", "idempotency_key", name="uq_notifications_idem"),
    )
    op.create_index("ix_notifications_workspace_id", "notifications", ["workspace_id"])
    op.create_index("ix_notifications_contact", "notifications", ["contact_id", "id"])
    with op.batch_alter_table("contacts") as batch:
        batch.add_column(
            sa.Column(
                "notifications_opt_out", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("contacts") as batch:
        batch.drop_column("notifications_opt_out")
    op.drop_table("notifications")
    op.drop_table("notification_templates")
