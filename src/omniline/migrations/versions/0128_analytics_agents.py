"""analytics: agent days (sums per local day, agent and channel) for the agent leaderboard

Revision ID: 0128_analytics_agents
Revises: 0127_surveys
Create Date: 2026-12-04 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0128_analytics_agents"
down_revision: str | None = "0127_surveys"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
# As omniline.analytics.models.ROLLUP_SUMS when this revision was written.
ROLLUP_SUMS = (
    "conversations",
    "offered",
    "answered",
    "abandoned",
    "short_abandoned",
    "answered_in_sl",
    "wait_sum",
    "handle_sum",
    "handle_n",
    "frt_sum",
    "frt_n",
    "frtb_sum",
    "frtb_n",
    "art_sum",
    "art_n",
    "resolved_of_arrived",
    "unresolved",
    "unfinished",
    "messages",
    "duration_sum",
    "new_contacts",
    "bot_handled",
    "bot_contained",
    "transfers",
    "transferred",
    "sla_n",
    "sla_met",
    "resolved",
    "resolution_sum",
    "resolution_n",
    "csat_n",
    "csat_good",
    "csat_sum",
    "nps_n",
    "promoters",
    "detractors",
)


def upgrade() -> None:
    op.create_table(
        "analytics_agent_days",
        sa.Column("workspace_id", BIG, nullable=False),
        sa.Column("day", sa.Integer(), nullable=False),
        sa.Column("agent_id", BIG, nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        *[sa.Column(n, sa.Float(), nullable=False) for n in ROLLUP_SUMS],
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_analytics_agent_days_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "workspace_id", "day", "agent_id", "channel", name=op.f("pk_analytics_agent_days")
        ),
    )
    # Existing workspaces have none yet: their next report cuts them from the facts.
    with op.batch_alter_table("analytics_sync") as batch:
        batch.add_column(sa.Column("agent_zone", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("analytics_sync") as batch:
        batch.drop_column("agent_zone")
    op.drop_table("analytics_agent_days")
