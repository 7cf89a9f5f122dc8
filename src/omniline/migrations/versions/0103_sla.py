"""SLA: business-hours calendars, policies per queue, timers

Revision ID: 0103
Revises: 0001
Create Date: 2026-11-25 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import omniline.kit.models

revision: str = "0103"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = omniline.kit.models.UTCDateTime(timezone=True)


def _id() -> sa.Column[int]:
    return sa.Column("id", ID, autoincrement=True, nullable=False)


def upgrade() -> None:
    op.create_table(
        "sla_calendars",
        sa.Column("workspace_id", ID, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("hours", sa.JSON(), nullable=False),
        sa.Column("holidays", sa.JSON(), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        _id(),
        sa.Column("created_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_sla_calendars_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_calendars")),
        sa.UniqueConstraint("workspace_id", "name", name=op.f("uq_sla_calendars_workspace_id")),
    )
    op.create_table(
        "sla_policies",
        sa.Column("workspace_id", ID, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("queue_id", ID, nullable=False),
        sa.Column("calendar_id", ID, nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("first_response_seconds", sa.Integer(), nullable=True),
        sa.Column("next_response_seconds", sa.Integer(), nullable=True),
        sa.Column("resolution_seconds", sa.Integer(), nullable=True),
        sa.Column("warning_share", sa.Float(), nullable=False),
        sa.Column("warning_actions", sa.JSON(), nullable=False),
        sa.Column("breach_actions", sa.JSON(), nullable=False),
        sa.Column("warning_tag", sa.String(length=64), nullable=True),
        sa.Column("breach_tag", sa.String(length=64), nullable=True),
        sa.Column("updated_at", TS, nullable=False),
        _id(),
        sa.Column("created_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["calendar_id"],
            ["sla_calendars.id"],
            name=op.f("fk_sla_policies_calendar_id_sla_calendars"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["queue_id"],
            ["queues.id"],
            name=op.f("fk_sla_policies_queue_id_queues"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_sla_policies_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_policies")),
        sa.UniqueConstraint("workspace_id", "name", name=op.f("uq_sla_policies_workspace_id")),
    )
    op.create_index(
        "uq_sla_policies_active_queue",
        "sla_policies",
        ["queue_id"],
        unique=True,
        sqlite_where=sa.text("active"),
        postgresql_where=sa.text("active"),
    )
    op.create_table(
        "sla_timers",
        sa.Column("workspace_id", ID, nullable=False),
        sa.Column("conversation_id", ID, nullable=False),
        sa.Column("policy_id", ID, nullable=False),
        sa.Column("target", sa.String(length=24), nullable=False),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("due_at", TS, nullable=False),
        sa.Column("warn_at", TS, nullable=True),
        sa.Column("warned_at", TS, nullable=True),
        sa.Column("breached_at", TS, nullable=True),
        sa.Column("satisfied_at", TS, nullable=True),
        sa.Column("cancelled_at", TS, nullable=True),
        _id(),
        sa.Column("created_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_sla_timers_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["policy_id"],
            ["sla_policies.id"],
            name=op.f("fk_sla_timers_policy_id_sla_policies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_sla_timers_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_timers")),
    )
    op.create_index("ix_sla_timers_conversation", "sla_timers", ["conversation_id", "target"])
    op.create_index("ix_sla_timers_ws_due", "sla_timers", ["workspace_id", "due_at"])
    op.create_table(
        "sla_due",
        sa.Column("conversation_id", ID, nullable=False),
        sa.Column("workspace_id", ID, nullable=False),
        sa.Column("due_at", TS, nullable=False),
        sa.Column("warn_at", TS, nullable=True),
        sa.Column("target", sa.String(length=24), nullable=False),
        sa.Column("breached", sa.Boolean(), nullable=False),
        sa.Column("warned", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_sla_due_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_sla_due_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("conversation_id", name=op.f("pk_sla_due")),
    )
    op.create_index("ix_sla_due_ws_due", "sla_due", ["workspace_id", "due_at", "conversation_id"])


def downgrade() -> None:
    op.drop_index("ix_sla_due_ws_due", table_name="sla_due")
    op.drop_table("sla_due")
    op.drop_index("ix_sla_timers_ws_due", table_name="sla_timers")
    op.drop_index("ix_sla_timers_conversation", table_name="sla_timers")
    op.drop_table("sla_timers")
    op.drop_index("uq_sla_policies_active_queue", table_name="sla_policies")
    op.drop_table("sla_policies")
    op.drop_table("sla_calendars")
