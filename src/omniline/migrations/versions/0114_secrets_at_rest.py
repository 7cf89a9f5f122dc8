"""secrets at rest: room for the encrypted inbox identity secret

The values themselves are encrypted by `omniline migrate` after the upgrade (it needs the keys
from the settings), see kit/encryption.py.

Revision ID: 0114_secrets
Revises: 0112
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0114_secrets"
down_revision: str | None = "0112"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("inboxes") as batch:
        batch.alter_column("identity_secret", type_=sa.String(512), existing_type=sa.String(128))


def downgrade() -> None:
    with op.batch_alter_table("inboxes") as batch:
        batch.alter_column("identity_secret", type_=sa.String(128), existing_type=sa.String(512))
