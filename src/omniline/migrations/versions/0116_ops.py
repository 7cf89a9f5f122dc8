"""operations: the request that started a job

Revision ID: 0116_ops
Revises: 0115
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0116_ops"
down_revision: str | None = "0115"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("request_id", sa.String(64), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("request_id")
