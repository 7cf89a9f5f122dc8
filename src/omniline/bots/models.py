from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from omniline.kit.clock import utcnow
from omniline.kit.encryption import EncryptedString
from omniline.kit.models import Base, BigId, CreatedMixin, IdMixin


class BotFlow(IdMixin, CreatedMixin, Base):
    """A flow of a workspace: the draft the builder edits and a pointer to the live version."""

    __tablename__ = "bot_flows"
    __table_args__ = (UniqueConstraint("workspace_id", "key", name="uq_bot_flows_ws_key"),)

    workspace_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    # Stable name for jumps, exports and the API ("greeting", "loan-status").
    key: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    draft: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # What the validator said at the last save: [{"node", "code", "message"}].
    problems: Mapped[list[Any]] = mapped_column(default=list)
    # Bumped on every save: a builder saving over a newer draft is told (409).
    draft_revision: Mapped[int] = mapped_column(default=1)
    published_version_id: Mapped[int | None] = mapped_column(BigId, default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class BotFlowVersion(IdMixin, CreatedMixin, Base):
    """A published graph; never edited, so conversations in flight keep theirs."""

    __tablename__ = "bot_flow_versions"
    __table_args__ = (UniqueConstraint("flow_id", "number", name="uq_bot_flow_versions_number"),)

    workspace_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    flow_id: Mapped[int] = mapped_column(BigId, ForeignKey("bot_flows.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column()
    graph: Mapped[dict[str, Any]] = mapped_column(default=dict)
    published_by_id: Mapped[int | None] = mapped_column(BigId, default=None)
    published_by_name: Mapped[str] = mapped_column(String(200), default="")
    note: Mapped[str] = mapped_column(String(500), default="")


class SessionStatus(StrEnum):
    active = "active"
    resolved = "resolved"
    handed_over = "handed_over"
    dropped = "dropped"  # closed after silence, or the conversation was taken over


class BotSession(IdMixin, CreatedMixin, Base):
    """Where one conversation stands in a flow: survives restarts, one row per conversation."""

    __tablename__ = "bot_sessions"
    __table_args__ = (Index("ix_bot_sessions_flow", "flow_id", "status"),)

    workspace_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    conversation_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("conversations.id", ondelete="CASCADE"), unique=True
    )
    flow_id: Mapped[int] = mapped_column(BigId, ForeignKey("bot_flows.id", ondelete="CASCADE"))
    version_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("bot_flow_versions.id", ondelete="CASCADE")
    )
    # The node waiting for the customer; None before the first turn and after the end.
    node: Mapped[str | None] = mapped_column(String(64), default=None)
    variables: Mapped[dict[str, Any]] = mapped_column(default=dict)
    language: Mapped[str] = mapped_column(String(16), default="en")
    # Consecutive answers the bot did not understand, and failed checks at the current node.
    misses: Mapped[int] = mapped_column(default=0)
    retries: Mapped[int] = mapped_column(default=0)
    # The last customer message the flow has read: each message advances it once, in order.
    last_message_id: Mapped[int] = mapped_column(BigId, default=0)
    # Bumped every turn; a silence timer of an older turn does nothing.
    turn: Mapped[int] = mapped_column(default=0)
    reminded: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(16), default=SessionStatus.active.value)
    # Why it ended: resolved, asked_for_person, not_understood, flow_handoff, error, silence...
    outcome: Mapped[str] = mapped_column(String(32), default="")
    # Nodes passed, in order (the funnel); bounded.
    path: Mapped[list[Any]] = mapped_column(default=list)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(default=None)


class BotSecret(IdMixin, CreatedMixin, Base):
    """A value HTTP nodes may put into headers (``{{secret.NAME}}``); encrypted, never shown."""

    __tablename__ = "bot_secrets"
    __table_args__ = (UniqueConstraint("workspace_id", "name", name="uq_bot_secrets_ws_name"),)

    workspace_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(64))
    value: Mapped[str] = mapped_column(EncryptedString(4096))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
