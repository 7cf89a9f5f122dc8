"""sessions: where a token was opened; when a workspace's memberships last changed

Revision ID: 0110_sessions
Revises: 0109
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0110_sessions"
down_revision: str | None = "0109"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("auth_tokens") as batch:
        batch.add_column(sa.Column("client_ip", sa.String(64), nullable=False, server_default=""))
        batch.add_column(sa.Column("user_agent", sa.String(300), nullable=False, server_default=""))
    with op.batch_alter_table("workspaces") as batch:
        batch.add_column(sa.Column("access_changed_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("workspaces") as batch:
        batch.drop_column("access_changed_at")
    with op.batch_alter_table("auth_tokens") as batch:
        batch.drop_column("user_agent")
        batch.drop_column("client_ip")
