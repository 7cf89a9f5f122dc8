"""channels: message meta, conversation reply address, identity liveness

Revision ID: 0108
Revises: 0107
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0108"
down_revision: str | None = "0107"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("messages") as t:
        t.add_column(sa.Column("meta", sa.JSON(), nullable=False, server_default="{}"))
    with op.batch_alter_table("conversations") as t:
        t.add_column(sa.Column("contact_address", sa.String(320), nullable=True))
    with op.batch_alter_table("contact_identities") as t:
        t.add_column(sa.Column("live_until", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("contact_identities") as t:
        t.drop_column("live_until")
    with op.batch_alter_table("conversations") as t:
        t.drop_column("contact_address")
    with op.batch_alter_table("messages") as t:
        t.drop_column("meta")
