"""outgoing webhooks and canned responses

Revision ID: 0105
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import omniline.kit.models

revision: str = "0105"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = omniline.kit.models.UTCDateTime(timezone=True)


def _id() -> sa.Column:
    return sa.Column("id", ID, autoincrement=True, nullable=False)


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column],
        [f"{target}.id"],
        name=op.f(f"fk_{table}_{column}_{target}"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "webhook_subscriptions",
        sa.Column("workspace_id", ID, nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.Column("secret", sa.String(length=128), nullable=False),
        sa.Column("event_types", sa.JSON(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        _id(),
        sa.Column("created_at", TS, nullable=False),
        _fk("webhook_subscriptions", "workspace_id", "workspaces"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_subscriptions")),
    )
    op.create_index(
        op.f("ix_webhook_subscriptions_workspace_id"), "webhook_subscriptions", ["workspace_id"]
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("workspace_id", ID, nullable=False),
        sa.Column("subscription_id", ID, nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("give_up_after", sa.Integer(), nullable=False),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(length=1000), nullable=True),
        sa.Column("last_duration_ms", sa.Integer(), nullable=True),
        sa.Column("next_attempt_at", TS, nullable=True),
        sa.Column("finished_at", TS, nullable=True),
        _id(),
        sa.Column("created_at", TS, nullable=False),
        _fk("webhook_deliveries", "workspace_id", "workspaces"),
        _fk("webhook_deliveries", "subscription_id", "webhook_subscriptions"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
        sa.UniqueConstraint("uuid", name=op.f("uq_webhook_deliveries_uuid")),
    )
    op.create_index("ix_webhook_deliveries_sub", "webhook_deliveries", ["subscription_id", "id"])
    op.create_table(
        "webhook_attempts",
        sa.Column("workspace_id", ID, nullable=False),
        sa.Column("delivery_id", ID, nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        _id(),
        sa.Column("created_at", TS, nullable=False),
        _fk("webhook_attempts", "workspace_id", "workspaces"),
        _fk("webhook_attempts", "delivery_id", "webhook_deliveries"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_attempts")),
    )
    op.create_index("ix_webhook_attempts_delivery", "webhook_attempts", ["delivery_id", "id"])
    op.create_table(
        "canned_responses",
        sa.Column("workspace_id", ID, nullable=False),
        sa.Column("scope", sa.String(length=32), nullable=False),
        sa.Column("owner_id", ID, nullable=True),
        sa.Column("shortcut", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("translations", sa.JSON(), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        _id(),
        sa.Column("created_at", TS, nullable=False),
        _fk("canned_responses", "workspace_id", "workspaces"),
        _fk("canned_responses", "owner_id", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_canned_responses")),
        sa.UniqueConstraint(
            "workspace_id", "scope", "shortcut", name=op.f("uq_canned_responses_workspace_id")
        ),
    )
    op.create_index(op.f("ix_canned_responses_owner_id"), "canned_responses", ["owner_id"])


def downgrade() -> None:
    op.drop_table("canned_responses")
    op.drop_table("webhook_attempts")
    op.drop_table("webhook_deliveries")
    op.drop_table("webhook_subscriptions")
