"""presence history: the agents' state intervals that occupancy is summed from

Revision ID: 0129_presence_history
Revises: 0128_analytics_agents
Create Date: 2026-12-04 19:30:00.000000

Agents who are not offline at the upgrade get an open interval from the upgrade on, with
``handling`` set when they hold an open chat: occupancy counts from then, and earlier periods
have none (there is no history to read them from).
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import omniline.kit.models

revision: str = "0129_presence_history"
down_revision: str | None = "0128_analytics_agents"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "presence_intervals",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("workspace_id", BIG_ID, nullable=False),
        sa.Column("user_id", BIG_ID, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("handling", sa.Boolean(), nullable=False),
        sa.Column("started_at", omniline.kit.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", omniline.kit.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_presence_intervals_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_presence_intervals_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_presence_intervals")),
    )
    with op.batch_alter_table("presence_intervals", schema=None) as batch_op:
        batch_op.create_index(
            "ix_presence_intervals_ws_ended", ["workspace_id", "ended_at"], unique=False
        )
        batch_op.create_index(
            "ix_presence_intervals_user_started", ["user_id", "started_at"], unique=False
        )
        batch_op.create_index(
            "ux_presence_intervals_open",
            ["user_id"],
            unique=True,
            postgresql_where=sa.text("ended_at IS NULL"),
            sqlite_where=sa.text("ended_at IS NULL"),
        )

    bind = op.get_bind()
    now: datetime | str = datetime.now(UTC)
    if bind.dialect.name == "sqlite":
        # Naive UTC text, as omniline.kit.models.UTCDateTime stores it on SQLite.
        now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    # As presence/history.py: an assigned or waiting chat (a written channel but email).
    bind.execute(
        sa.text(
            "INSERT INTO presence_intervals"
            " (workspace_id, user_id, status, handling, started_at, ended_at)"
            " SELECT s.workspace_id, s.user_id, s.status,"
            " EXISTS (SELECT 1 FROM conversations c WHERE c.assignee_id = s.user_id"
            " AND c.status IN ('assigned', 'waiting_customer')"
            " AND c.channel NOT IN ('email', 'voice', 'phone')),"
            " :now, NULL"
            " FROM agent_states s WHERE s.status <> 'offline'"
        ),
        {"now": now},
    )


def downgrade() -> None:
    with op.batch_alter_table("presence_intervals", schema=None) as batch_op:
        batch_op.drop_index("ux_presence_intervals_open")
        batch_op.drop_index("ix_presence_intervals_user_started")
        batch_op.drop_index("ix_presence_intervals_ws_ended")
    op.drop_table("presence_intervals")
