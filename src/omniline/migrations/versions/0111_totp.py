"""two-factor sign-in: TOTP secrets, recovery codes, setup-only sessions, required roles

Revision ID: 0111_totp
Revises: 0110_sessions
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0111_totp"
down_revision: str | None = "0110_sessions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("totp_secret", sa.String(64), nullable=True))
        batch.add_column(sa.Column("totp_pending_secret", sa.String(64), nullable=True))
        batch.add_column(
            sa.Column("totp_last_step", sa.BigInteger(), nullable=False, server_default="0")
        )
    with op.batch_alter_table("auth_tokens") as batch:
        batch.add_column(sa.Column("scope", sa.String(16), nullable=False, server_default=""))
    with op.batch_alter_table("workspaces") as batch:
        batch.add_column(
            sa.Column("two_factor_roles", sa.JSON(), nullable=False, server_default="[]")
        )
    op.create_table(
        "recovery_codes",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("user_id", BigId, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_recovery_codes_user_id", "recovery_codes", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_recovery_codes_user_id", "recovery_codes")
    op.drop_table("recovery_codes")
    with op.batch_alter_table("workspaces") as batch:
        batch.drop_column("two_factor_roles")
    with op.batch_alter_table("auth_tokens") as batch:
        batch.drop_column("scope")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("totp_last_step")
        batch.drop_column("totp_pending_secret")
        batch.drop_column("totp_secret")
