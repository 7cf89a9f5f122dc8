"""Merge the audit branch of issue 9 into the one head.

Revision ID: 0115
Revises: 0114_secrets, 0110_audit
"""

from collections.abc import Sequence

revision: str = "0115"
down_revision: str | Sequence[str] | None = ("0114_secrets", "0110_audit")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
