"""presence, capacity, skills, queue routing settings, assignment offers

Revision ID: 0102
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import omniline.kit.models

revision: str = "0102"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
When = omniline.kit.models.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "agent_states",
        sa.Column(
            "user_id",
            BigId,
            sa.ForeignKey("users.id", ondelete="CASCADE", name="fk_agent_states_user_id_users"),
            nullable=False,
        ),
        sa.Column(
            "workspace_id",
            BigId,
            sa.ForeignKey(
                "workspaces.id", ondelete="CASCADE", name="fk_agent_states_workspace_id_workspaces"
            ),
            nullable=False,
        ),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("since", When, nullable=False),
        sa.Column("idle_since", When, nullable=False),
        sa.Column("chat_capacity", sa.Integer(), nullable=True),
        sa.Column("email_capacity", sa.Integer(), nullable=True),
        sa.Column("voice_capacity", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("user_id", name="pk_agent_states"),
    )
    op.create_index(
        "ix_agent_states_ws_status", "agent_states", ["workspace_id", "status", "idle_since"]
    )
    op.create_table(
        "agent_skills",
        sa.Column(
            "queue_id",
            BigId,
            sa.ForeignKey("queues.id", ondelete="CASCADE", name="fk_agent_skills_queue_id_queues"),
            nullable=False,
        ),
        sa.Column(
            "user_id",
            BigId,
            sa.ForeignKey("users.id", ondelete="CASCADE", name="fk_agent_skills_user_id_users"),
            nullable=False,
        ),
        sa.Column(
            "workspace_id",
            BigId,
            sa.ForeignKey(
                "workspaces.id", ondelete="CASCADE", name="fk_agent_skills_workspace_id_workspaces"
            ),
            nullable=False,
        ),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("queue_id", "user_id", name="pk_agent_skills"),
    )
    op.create_index("ix_agent_skills_user_id", "agent_skills", ["user_id"])
    op.create_table(
        "presence_settings",
        sa.Column(
            "workspace_id",
            BigId,
            sa.ForeignKey(
                "workspaces.id",
                ondelete="CASCADE",
                name="fk_presence_settings_workspace_id_workspaces",
            ),
            nullable=False,
        ),
        sa.Column("chat", sa.Integer(), nullable=False),
        sa.Column("email", sa.Integer(), nullable=False),
        sa.Column("voice", sa.Integer(), nullable=False),
        sa.Column("requeue_on_away", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("workspace_id", name="pk_presence_settings"),
    )
    op.create_table(
        "queue_routing",
        sa.Column(
            "queue_id",
            BigId,
            sa.ForeignKey("queues.id", ondelete="CASCADE", name="fk_queue_routing_queue_id_queues"),
            nullable=False,
        ),
        sa.Column(
            "workspace_id",
            BigId,
            sa.ForeignKey(
                "workspaces.id", ondelete="CASCADE", name="fk_queue_routing_workspace_id_workspaces"
            ),
            nullable=False,
        ),
        sa.Column("strategy", sa.String(16), nullable=False),
        sa.Column("auto_assign", sa.Boolean(), nullable=False),
        sa.Column("requires_acceptance", sa.Boolean(), nullable=False),
        sa.Column("acceptance_seconds", sa.Integer(), nullable=False),
        sa.Column("last_user_id", BigId, nullable=True),
        sa.PrimaryKeyConstraint("queue_id", name="pk_queue_routing"),
    )
    op.create_table(
        "assignment_offers",
        sa.Column(
            "conversation_id",
            BigId,
            sa.ForeignKey(
                "conversations.id",
                ondelete="CASCADE",
                name="fk_assignment_offers_conversation_id_conversations",
            ),
            nullable=False,
        ),
        sa.Column(
            "workspace_id",
            BigId,
            sa.ForeignKey(
                "workspaces.id",
                ondelete="CASCADE",
                name="fk_assignment_offers_workspace_id_workspaces",
            ),
            nullable=False,
        ),
        sa.Column(
            "assignee_id",
            BigId,
            sa.ForeignKey(
                "users.id", ondelete="CASCADE", name="fk_assignment_offers_assignee_id_users"
            ),
            nullable=False,
        ),
        sa.Column("offered_at", When, nullable=False),
        sa.Column("expires_at", When, nullable=False),
        sa.Column("accepted_at", When, nullable=True),
        sa.PrimaryKeyConstraint("conversation_id", name="pk_assignment_offers"),
    )
    op.create_index("ix_assignment_offers_assignee_id", "assignment_offers", ["assignee_id"])
    waiting = sa.text("status = 'queued' AND assignee_id IS NULL")
    op.create_index(
        "ix_conv_waiting",
        "conversations",
        ["queue_id", sa.text("priority DESC"), "first_queued_at", "id"],
        postgresql_where=waiting,
        sqlite_where=waiting,
    )
    op.create_index(
        "ix_conv_assignee_status", "conversations", ["assignee_id", "status", "channel"]
    )


def downgrade() -> None:
    op.drop_index("ix_conv_assignee_status", table_name="conversations")
    op.drop_index("ix_conv_waiting", table_name="conversations")
    op.drop_table("assignment_offers")
    op.drop_table("queue_routing")
    op.drop_table("presence_settings")
    op.drop_table("agent_skills")
    op.drop_table("agent_states")
