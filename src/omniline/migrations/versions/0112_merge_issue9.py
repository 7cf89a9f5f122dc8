"""Merge the branches written in parallel for issue 9 into one head.

Revision ID: 0112
Revises: 0111_totp, 0110_perf
"""

from collections.abc import Sequence

revision: str = "0112"
down_revision: str | Sequence[str] | None = ("0111_totp", "0110_perf")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
