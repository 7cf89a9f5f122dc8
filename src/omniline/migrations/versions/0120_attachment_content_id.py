"""attachments: the Content-ID of a letter's part its HTML shows as a picture

Revision ID: 0120_attachment_content_id
Revises: 0119_notifications
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0120_attachment_content_id"
down_revision: str | None = "0119_notifications"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("attachments", sa.Column("content_id", sa.String(255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("attachments") as batch:
        batch.drop_column("content_id")
