"""agent loads: each agent's open conversations per channel kind, on their state row

The least-loaded strategy counted the open conversations of the whole workspace at each
decision. The counts are now columns of ``agent_states`` (chat, email, voice), recounted
when a transaction that changed an agent's conversations commits (presence/loads.py). This
migration fills them from the conversations as they are.

Open = status ``assigned`` or ``waiting_customer`` (presence.repository.LOAD_STATUSES);
the kind of a conversation = presence.models.kind_of: ``email`` is email, ``voice`` and
``phone`` are voice, every other channel is chat.

Revision ID: 0131_agent_loads
Revises: 0130_reply_idempotency
"""

# ruff: noqa: S608  (the statement is built from the constants below only)

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0131_agent_loads"
down_revision: str | None = "0130_reply_idempotency"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KINDS = (
    ("chat", "NOT IN ('email', 'voice', 'phone')"),
    ("email", "= 'email'"),
    ("voice", "IN ('voice', 'phone')"),
)


def upgrade() -> None:
    with op.batch_alter_table("agent_states") as batch:
        for kind, _ in KINDS:
            batch.add_column(
                sa.Column(f"{kind}_load", sa.Integer(), nullable=False, server_default="0")
            )
    sets = ", ".join(
        f"{kind}_load = (SELECT count(*) FROM conversations c "
        "WHERE c.workspace_id = agent_states.workspace_id "
        "AND c.assignee_id = agent_states.user_id "
        f"AND c.status IN ('assigned', 'waiting_customer') AND c.channel {test})"
        for kind, test in KINDS
    )
    op.execute(f"UPDATE agent_states SET {sets}")


def downgrade() -> None:
    with op.batch_alter_table("agent_states") as batch:
        for kind, _ in KINDS:
            batch.drop_column(f"{kind}_load")
