"""reply keys: an agent's Idempotency-Key stores a reply once, however often it is retried

Revision ID: 0130_reply_idempotency
Revises: 0129_presence_history
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0130_reply_idempotency"
down_revision: str | None = "0129_presence_history"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
When = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "reply_keys",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column(
            "workspace_id",
            BigId,
            sa.ForeignKey("workspaces.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "author_id", BigId, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column(
            "message_id", BigId, sa.ForeignKey("messages.id", ondelete="CASCADE"), nullable=True
        ),
        sa.Column("created_at", When, nullable=False),
        sa.UniqueConstraint("workspace_id", "author_id", "key", name="uq_reply_keys_author_key"),
    )
    op.create_index("ix_reply_keys_message_id", "reply_keys", ["message_id"])


def downgrade() -> None:
    op.drop_index("ix_reply_keys_message_id", table_name="reply_keys")
    op.drop_table("reply_keys")
