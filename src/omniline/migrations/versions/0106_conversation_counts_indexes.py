"""indexes for the conversation list's counts by status

Revision ID: 0106
Revises: 0001

Every page of GET /api/v1/conversations counts the workspace's conversations by
status under the same filters. With only the (..., last_activity_at, id)
indexes, a queue or assignee filter made SQLite walk the whole workspace and
read each row (about 250 ms at 100,000 conversations) and PostgreSQL scan the
table; these narrow indexes answer the counts from the index alone
(docs/benchmarks.md, bench/bench_conversation_list.py). None holds
last_activity_at, so a new message does not touch them.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0106"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = {
    "ix_conv_ws_status": ["workspace_id", "status"],
    "ix_conv_ws_queue_status": ["workspace_id", "queue_id", "status"],
    "ix_conv_ws_assignee_status": ["workspace_id", "assignee_id", "status"],
}


def upgrade() -> None:
    for name, columns in INDEXES.items():
        op.create_index(name, "conversations", columns)


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name="conversations")
