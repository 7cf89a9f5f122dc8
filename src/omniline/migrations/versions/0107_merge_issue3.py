"""Merge the branches written in parallel for issue 3 into one head.

Revision ID: 0107
Revises: 0101, 0102, 0103, 0104, 0105, 0106
"""

from collections.abc import Sequence

revision: str = "0107"
down_revision: str | Sequence[str] | None = ("0101", "0102", "0103", "0104", "0105", "0106")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
