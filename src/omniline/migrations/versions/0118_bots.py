"""bots: flows with published versions, a session per conversation, secrets for HTTP nodes

Revision ID: 0118_bots
Revises: 0117_totp_encrypted
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0118_bots"
down_revision: str | None = "0117_totp_encrypted"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
When = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "bot_flows",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column(
            "workspace_id",
            BigId,
            sa.ForeignKey("workspaces.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("draft", sa.JSON(), nullable=False),
        sa.Column("problems", sa.JSON(), nullable=False),
        sa.Column("draft_revision", sa.Integer(), nullable=False),
        sa.Column("published_version_id", BigId, nullable=True),
        sa.Column("created_at", When, nullable=False),
        sa.Column("updated_at", When, nullable=False),
        sa.UniqueConstraint("workspace_id", "key", name="uq_bot_flows_ws_key"),
    )
    op.create_index("ix_bot_flows_workspace_id", "bot_flows", ["workspace_id"])
    op.create_table(
        "bot_flow_versions",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column(
            "workspace_id",
            BigId,
            sa.ForeignKey("workspaces.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "flow_id", BigId, sa.ForeignKey("bot_flows.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("graph", sa.JSON(), nullable=False),
        sa.Column("published_by_id", BigId, nullable=True),
        sa.Column("published_by_name", sa.String(200), nullable=False),
        sa.Column("note", sa.String(500), nullable=False),
        sa.Column("created_at", When, nullable=False),
        sa.UniqueConstraint("flow_id", "number", name="uq_bot_flow_versions_number"),
    )
    op.create_index("ix_bot_flow_versions_workspace_id", "bot_flow_versions", ["workspace_id"])
    op.create_table(
        "bot_sessions",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column(
            "workspace_id",
            BigId,
            sa.ForeignKey("workspaces.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "conversation_id",
            BigId,
            sa.ForeignKey("conversations.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "flow_id", BigId, sa.ForeignKey("bot_flows.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column(
            "version_id",
            BigId,
            sa.ForeignKey("bot_flow_versions.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("node", sa.String(64), nullable=True),
        sa.Column("variables", sa.JSON(), nullable=False),
        sa.Column("language", sa.String(16), nullable=False),
        sa.Column("misses", sa.Integer(), nullable=False),
        sa.Column("retries", sa.Integer(), nullable=False),
        sa.Column("last_message_id", BigId, nullable=False),
        sa.Column("turn", sa.Integer(), nullable=False),
        sa.Column("reminded", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("path", sa.JSON(), nullable=False),
        sa.Column("created_at", When, nullable=False),
        sa.Column("updated_at", When, nullable=False),
        sa.Column("ended_at", When, nullable=True),
        sa.UniqueConstraint("conversation_id", name="uq_bot_sessions_conversation_id"),
    )
    op.create_index("ix_bot_sessions_workspace_id", "bot_sessions", ["workspace_id"])
    op.create_index("ix_bot_sessions_flow", "bot_sessions", ["flow_id", "status"])
    op.create_table(
        "bot_secrets",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column(
            "workspace_id",
            BigId,
            sa.ForeignKey("workspaces.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("value", sa.String(4096), nullable=False),
        sa.Column("created_at", When, nullable=False),
        sa.Column("updated_at", When, nullable=False),
        sa.UniqueConstraint("workspace_id", "name", name="uq_bot_secrets_ws_name"),
    )
    op.create_index("ix_bot_secrets_workspace_id", "bot_secrets", ["workspace_id"])
    with op.batch_alter_table("inboxes") as batch:
        batch.add_column(sa.Column("bot_flow_id", BigId, nullable=True))
        batch.create_foreign_key(
            "fk_inboxes_bot_flow_id_bot_flows",
            "bot_flows",
            ["bot_flow_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("inboxes") as batch:
        batch.drop_constraint("fk_inboxes_bot_flow_id_bot_flows", type_="foreignkey")
        batch.drop_column("bot_flow_id")
    op.drop_table("bot_secrets")
    op.drop_table("bot_sessions")
    op.drop_table("bot_flow_versions")
    op.drop_table("bot_flows")
