"""analytics: one fact row per conversation, roll-ups per 15 minutes, and catch-up state

Revision ID: 0124_analytics
Revises: 0123_voice_campaigns
Create Date: 2026-12-04 16:15:00
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

import omniline.kit.models

revision: str = "0124_analytics"
down_revision: str | None = "0123_voice_campaigns"
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


def _ints(*names: str) -> list[sa.Column[Any]]:
    return [sa.Column(n, sa.Integer(), nullable=False) for n in names]


def _floats(*names: str, nullable: bool = True) -> list[sa.Column[Any]]:
    return [sa.Column(n, sa.Float(), nullable=nullable) for n in names]


def upgrade() -> None:
    op.create_table(
        "analytics_facts",
        sa.Column("conversation_id", BIG, nullable=False),
        sa.Column("workspace_id", BIG, nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("inbox_id", BIG, nullable=False),
        sa.Column("queue_id", BIG, nullable=True),
        sa.Column("team_id", BIG, nullable=True),
        sa.Column("agent_id", BIG, nullable=True),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("language", sa.String(length=8), nullable=True),
        sa.Column("arrived_q", sa.Integer(), nullable=False),
        sa.Column("resolved_q", sa.Integer(), nullable=True),
        sa.Column("csat_q", sa.Integer(), nullable=True),
        sa.Column("nps_q", sa.Integer(), nullable=True),
        *_ints("offered", "answered", "abandoned", "short_abandoned", "answered_in_sl"),
        *_floats("wait_s", "handle_s", "frt_s", "frt_business_s"),
        *_floats("art_sum_s", nullable=False),
        *_ints("art_n", "resolved"),
        *_floats("resolution_s"),
        *_ints("unresolved", "unfinished", "messages"),
        *_floats("duration_s", nullable=False),
        *_ints("new_contact", "bot_handled", "bot_contained", "transfers", "transferred"),
        sa.Column("csat", sa.Integer(), nullable=True),
        sa.Column("nps", sa.Integer(), nullable=True),
        *_ints("sla_n", "sla_met"),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_analytics_facts_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_analytics_facts_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("conversation_id", name=op.f("pk_analytics_facts")),
    )
    op.create_index(
        "ix_analytics_facts_ws_arrived", "analytics_facts", ["workspace_id", "arrived_q"]
    )
    op.create_index(
        "ix_analytics_facts_ws_resolved", "analytics_facts", ["workspace_id", "resolved_q"]
    )
    op.create_table(
        "analytics_rollups",
        sa.Column("workspace_id", BIG, nullable=False),
        sa.Column("bucket", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("inbox_id", BIG, nullable=False),
        sa.Column("queue_id", BIG, nullable=False),
        sa.Column("team_id", BIG, nullable=False),
        *_floats(*ROLLUP_SUMS, nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_analytics_rollups_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "workspace_id",
            "bucket",
            "channel",
            "inbox_id",
            "queue_id",
            "team_id",
            name=op.f("pk_analytics_rollups"),
        ),
    )
    op.create_table(
        "analytics_sync",
        sa.Column("workspace_id", BIG, nullable=False),
        sa.Column("synced_at", omniline.kit.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_analytics_sync_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", name=op.f("pk_analytics_sync")),
    )


def downgrade() -> None:
    op.drop_table("analytics_sync")
    op.drop_table("analytics_rollups")
    op.drop_index("ix_analytics_facts_ws_resolved", table_name="analytics_facts")
    op.drop_index("ix_analytics_facts_ws_arrived", table_name="analytics_facts")
    op.drop_table("analytics_facts")
