"""perf: conversation list indexes

A covering index of conversation tags (a tag filter reads the ids from the index alone)
and conversations by workspace and id (the tail of the "due first" sort).

Revision ID: 0110_perf
Revises: 0109
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0110_perf"
down_revision: str | None = "0109"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_conversation_tags_ws_tag_conv",
        "conversation_tags",
        ["workspace_id", "tag", "conversation_id"],
    )
    op.drop_index("ix_conversation_tags_ws_tag", table_name="conversation_tags")
    op.create_index("ix_conv_ws_id", "conversations", ["workspace_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_conv_ws_id", table_name="conversations")
    op.create_index("ix_conversation_tags_ws_tag", "conversation_tags", ["workspace_id", "tag"])
    op.drop_index("ix_conversation_tags_ws_tag_conv", table_name="conversation_tags")
