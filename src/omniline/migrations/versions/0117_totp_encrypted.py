"""two-factor secrets encrypted at rest: room for the encrypted values

Revision ID: 0117_totp_encrypted
Revises: 0116_ops
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0117_totp_encrypted"
down_revision: str | None = "0116_ops"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        for name in ("totp_secret", "totp_pending_secret"):
            batch.alter_column(name, type_=sa.String(512), existing_type=sa.String(64))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        for name in ("totp_secret", "totp_pending_secret"):
            batch.alter_column(name, type_=sa.String(64), existing_type=sa.String(512))
