"""perf: a tag row keeps its conversation's status, for the list's counts

The conversation list counts a tag's conversations by status on every page. Joined
with the conversations, PostgreSQL scanned every conversation of the workspace; with
the status on the tag row the counts read one index range. The new index also covers
the tag filter's conversation ids, so it replaces ``ix_conversation_tags_ws_tag_conv``.

Revision ID: 0121_perf_counts
Revises: 0120_attachment_content_id
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0121_perf_counts"
down_revision: str | None = "0120_attachment_content_id"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("conversation_tags") as batch:
        batch.add_column(sa.Column("status", sa.String(24), nullable=True))
    op.execute(
        "UPDATE conversation_tags SET status = (SELECT conversations.status FROM conversations"
        " WHERE conversations.id = conversation_tags.conversation_id)"
    )
    with op.batch_alter_table("conversation_tags") as batch:
        batch.alter_column("status", existing_type=sa.String(24), nullable=False)
    op.create_index(
        "ix_conversation_tags_ws_tag_status",
        "conversation_tags",
        ["workspace_id", "tag", "status", "conversation_id"],
    )
    op.drop_index("ix_conversation_tags_ws_tag_conv", table_name="conversation_tags")


def downgrade() -> None:
    op.create_index(
        "ix_conversation_tags_ws_tag_conv",
        "conversation_tags",
        ["workspace_id", "tag", "conversation_id"],
    )
    op.drop_index("ix_conversation_tags_ws_tag_status", table_name="conversation_tags")
    with op.batch_alter_table("conversation_tags") as batch:
        batch.drop_column("status")
