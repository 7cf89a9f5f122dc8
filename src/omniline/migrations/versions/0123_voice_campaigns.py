"""voice campaigns: outbound calls to a list of contacts

Revision ID: 0123_voice_campaigns
Revises: 0122_voice
Create Date: 2026-12-04 08:52:19.526014
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import omniline.kit.models

revision: str = "0123_voice_campaigns"
down_revision: str | None = "0122_voice"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "voice_campaigns",
        sa.Column(
            "workspace_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("inbox_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("flow_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("mode", sa.String(length=8), nullable=False),
        sa.Column("queue_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("hours", sa.String(length=11), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("retry_after_s", sa.Integer(), nullable=False),
        sa.Column("max_concurrent", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column(
            "created_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("started_at", omniline.kit.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", omniline.kit.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("created_at", omniline.kit.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["flow_id"],
            ["bot_flows.id"],
            name=op.f("fk_voice_campaigns_flow_id_bot_flows"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["inbox_id"],
            ["inboxes.id"],
            name=op.f("fk_voice_campaigns_inbox_id_inboxes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["queue_id"],
            ["queues.id"],
            name=op.f("fk_voice_campaigns_queue_id_queues"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_voice_campaigns_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_voice_campaigns")),
    )
    with op.batch_alter_table("voice_campaigns", schema=None) as batch_op:
        batch_op.create_index(
            "ix_voice_campaigns_inbox_status", ["inbox_id", "status"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_voice_campaigns_workspace_id"), ["workspace_id"], unique=False
        )

    op.create_table(
        "voice_campaign_contacts",
        sa.Column(
            "workspace_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "campaign_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "contact_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column(
            "next_attempt_at", omniline.kit.models.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("result", sa.String(length=32), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("variables", sa.JSON(), nullable=False),
        sa.Column(
            "last_call_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("finished_at", omniline.kit.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("created_at", omniline.kit.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["voice_campaigns.id"],
            name=op.f("fk_voice_campaign_contacts_campaign_id_voice_campaigns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_voice_campaign_contacts_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["last_call_id"],
            ["voice_calls.id"],
            name=op.f("fk_voice_campaign_contacts_last_call_id_voice_calls"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_voice_campaign_contacts_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_voice_campaign_contacts")),
        sa.UniqueConstraint("campaign_id", "number", name="uq_voice_campaign_contacts_number"),
    )
    with op.batch_alter_table("voice_campaign_contacts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_voice_campaign_contacts_contact_id"), ["contact_id"], unique=False
        )
        batch_op.create_index(
            "ix_voice_campaign_contacts_due",
            ["campaign_id", "status", "next_attempt_at"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("voice_campaign_contacts", schema=None) as batch_op:
        batch_op.drop_index("ix_voice_campaign_contacts_due")
        batch_op.drop_index(batch_op.f("ix_voice_campaign_contacts_contact_id"))

    op.drop_table("voice_campaign_contacts")
    with op.batch_alter_table("voice_campaigns", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_voice_campaigns_workspace_id"))
        batch_op.drop_index("ix_voice_campaigns_inbox_status")

    op.drop_table("voice_campaigns")
