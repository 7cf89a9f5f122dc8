"""Agent presence, capacity, skills, queue routing settings and acceptance offers.

Queue membership stays in :class:`omniline.workspaces.models.QueueMember`; this
domain adds what assignment needs on top of it.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from omniline.conversations.models import Conversation
from omniline.kit.clock import utcnow
from omniline.kit.models import Base, BigId


class Presence(StrEnum):
    online = "online"
    away = "away"
    offline = "offline"
    on_call = "on_call"
    wrap_up = "wrap_up"


class Strategy(StrEnum):
    longest_idle = "longest_idle"
    least_loaded = "least_loaded"
    round_robin = "round_robin"


class ChannelKind(StrEnum):
    """What a conversation costs an agent: capacity is counted per kind."""

    chat = "chat"
    email = "email"
    voice = "voice"


DEFAULT_CAPACITY = {ChannelKind.chat: 5, ChannelKind.email: 10, ChannelKind.voice: 1}


def kind_of(channel: str) -> ChannelKind:
    """Web chat and messengers are chats; a letter is email; a phone call is voice."""
    if channel == "email":
        return ChannelKind.email
    if channel in ("voice", "phone"):
        return ChannelKind.voice
    return ChannelKind.chat


class AgentState(Base):
    """One row per staff member who ever set a presence; no row means offline."""

    __tablename__ = "agent_states"
    __table_args__ = (Index("ix_agent_states_ws_status", "workspace_id", "status", "idle_since"),)

    user_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    workspace_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("workspaces.id", ondelete="CASCADE")
    )
    status: Mapped[str] = mapped_column(String(16), default=Presence.offline.value)
    since: Mapped[datetime] = mapped_column(default=utcnow)
    # Longest idle orders by this: set when the agent comes online and at each assignment.
    idle_since: Mapped[datetime] = mapped_column(default=utcnow)
    # Per-agent overrides; None falls back to the workspace's (or the global) default.
    chat_capacity: Mapped[int | None] = mapped_column(default=None)
    email_capacity: Mapped[int | None] = mapped_column(default=None)
    voice_capacity: Mapped[int | None] = mapped_column(default=None)
    # Open conversations (assigned or waiting for the customer) held now, per kind: recounted
    # when a transaction that changed the agent's conversations commits (presence/loads.py).
    # Ordering only: whether an agent has room is always counted afresh under their lock.
    chat_load: Mapped[int] = mapped_column(default=0, server_default="0")
    email_load: Mapped[int] = mapped_column(default=0, server_default="0")
    voice_load: Mapped[int] = mapped_column(default=0, server_default="0")


class PresenceInterval(Base):
    """One stretch of an agent's state history: a presence status, and whether the agent held
    at least one open chat all along it (``handling``; calls show as ``on_call``/``wrap_up``).

    A new row begins whenever either changes (presence/history.py); the open row (``ended_at``
    NULL) is the state now, at most one per agent. No row covering an instant means the agent
    was offline then, or that it was before history was kept (migration
    0129_presence_history). Occupancy (docs/metrics.md) is summed from these rows.
    """

    __tablename__ = "presence_intervals"
    __table_args__ = (
        # Reports: the rows of a workspace that end after the start of a period (or are open).
        Index("ix_presence_intervals_ws_ended", "workspace_id", "ended_at"),
        Index("ix_presence_intervals_user_started", "user_id", "started_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    workspace_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("workspaces.id", ondelete="CASCADE")
    )
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16))
    handling: Mapped[bool] = mapped_column(default=False)
    started_at: Mapped[datetime] = mapped_column()
    ended_at: Mapped[datetime | None] = mapped_column(default=None)


# At most one open interval per agent: a second writer waits for the first (history.py).
OPEN_INTERVAL_INDEX = Index(
    "ux_presence_intervals_open",
    PresenceInterval.user_id,
    unique=True,
    postgresql_where=PresenceInterval.ended_at.is_(None),
    sqlite_where=PresenceInterval.ended_at.is_(None),
)


class AgentSkill(Base):
    """An agent's level (1-10) in a queue they are a member of; breaks strategy ties."""

    __tablename__ = "agent_skills"

    queue_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("queues.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    workspace_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("workspaces.id", ondelete="CASCADE")
    )
    level: Mapped[int] = mapped_column(default=5)


class PresenceSettings(Base):
    """A workspace's default capacities and presence rules; without a row the defaults apply."""

    __tablename__ = "presence_settings"

    workspace_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    chat: Mapped[int] = mapped_column(default=DEFAULT_CAPACITY[ChannelKind.chat])
    email: Mapped[int] = mapped_column(default=DEFAULT_CAPACITY[ChannelKind.email])
    voice: Mapped[int] = mapped_column(default=DEFAULT_CAPACITY[ChannelKind.voice])
    # Going offline always hands the agent's chats back; "away" only when this is set.
    requeue_on_away: Mapped[bool] = mapped_column(default=False)


class QueueRouting(Base):
    """How a queue hands out its conversations; no row means the defaults below."""

    __tablename__ = "queue_routing"

    queue_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("queues.id", ondelete="CASCADE"), primary_key=True
    )
    workspace_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("workspaces.id", ondelete="CASCADE")
    )
    strategy: Mapped[str] = mapped_column(String(16), default=Strategy.longest_idle.value)
    auto_assign: Mapped[bool] = mapped_column(default=True)
    requires_acceptance: Mapped[bool] = mapped_column(default=False)
    acceptance_seconds: Mapped[int] = mapped_column(default=30)
    # Round robin continues after this agent.
    last_user_id: Mapped[int | None] = mapped_column(BigId, default=None)


class Offer(Base):
    """An automatic assignment waiting for the agent's "Accept" (queues that require it)."""

    __tablename__ = "assignment_offers"

    conversation_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
    )
    workspace_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("workspaces.id", ondelete="CASCADE")
    )
    assignee_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    offered_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(default=utcnow)
    accepted_at: Mapped[datetime | None] = mapped_column(default=None)


# The engine's "next waiting conversation of a queue": priority first, then the longest
# waiting. Declared here (the conversations table is not ours) so metadata and the
# migration agree; partial, so it holds only what is waiting.
WAITING_INDEX = Index(
    "ix_conv_waiting",
    Conversation.queue_id,
    Conversation.priority.desc(),
    Conversation.first_queued_at,
    Conversation.id,
    postgresql_where=(Conversation.status == "queued") & Conversation.assignee_id.is_(None),
    sqlite_where=(Conversation.status == "queued") & Conversation.assignee_id.is_(None),
)
# Load counting: an agent's open conversations.
ASSIGNEE_INDEX = Index(
    "ix_conv_assignee_status", Conversation.assignee_id, Conversation.status, Conversation.channel
)
