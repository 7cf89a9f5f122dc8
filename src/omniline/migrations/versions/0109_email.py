"""email: Message-ID references for threading, IMAP mailbox positions

Revision ID: 0109
Revises: 0108
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0109"
down_revision: str | None = "0108"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "email_refs",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column(
            "workspace_id",
            BigId,
            sa.ForeignKey("workspaces.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("message_id_header", sa.String(500), nullable=False),
        sa.Column(
            "conversation_id",
            BigId,
            sa.ForeignKey("conversations.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "message_id", BigId, sa.ForeignKey("messages.id", ondelete="SET NULL"), nullable=True
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("workspace_id", "message_id_header", name="uq_email_refs_workspace_id"),
    )
    op.create_index("ix_email_refs_conversation_id", "email_refs", ["conversation_id"])
    op.create_table(
        "email_mailbox_state",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column(
            "inbox_id", BigId, sa.ForeignKey("inboxes.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("folder", sa.String(200), nullable=False),
        sa.Column("uidvalidity", sa.BigInteger(), nullable=True),
        sa.Column("last_uid", sa.BigInteger(), nullable=False),
        sa.Column("last_poll_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(500), nullable=True),
        sa.UniqueConstraint("inbox_id", "folder", name="uq_email_mailbox_state_inbox_id"),
    )


def downgrade() -> None:
    op.drop_table("email_mailbox_state")
    op.drop_index("ix_email_refs_conversation_id", table_name="email_refs")
    op.drop_table("email_refs")
