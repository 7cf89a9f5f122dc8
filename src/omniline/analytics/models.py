"""One fact row per conversation: everything the figures of docs/metrics.md add up.

Times are stored as 15-minute bucket numbers (seconds since the epoch // 900) of the
instant that assigns each figure to a period: every time zone in use is a whole number of
quarter hours from UTC, so any local hour, day, week or month is a whole run of buckets
(Asia/Kolkata's +05:30 and Asia/Kathmandu's +05:45 included) and a sum over buckets is exact.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from omniline.kit.models import Base, BigId


class Fact(Base):
    __tablename__ = "analytics_facts"
    __table_args__ = (
        Index("ix_analytics_facts_ws_arrived", "workspace_id", "arrived_q"),
        Index("ix_analytics_facts_ws_resolved", "workspace_id", "resolved_q"),
    )

    conversation_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
    )
    workspace_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("workspaces.id", ondelete="CASCADE")
    )
    channel: Mapped[str] = mapped_column(String(32))
    inbox_id: Mapped[int] = mapped_column(BigId)
    queue_id: Mapped[int | None] = mapped_column(BigId, default=None)
    team_id: Mapped[int | None] = mapped_column(BigId, default=None)
    agent_id: Mapped[int | None] = mapped_column(BigId, default=None)
    country: Mapped[str | None] = mapped_column(String(2), default=None)
    language: Mapped[str | None] = mapped_column(String(8), default=None)
    # Bucket numbers (see the module's docstring) of arrival, resolution and survey answers.
    arrived_q: Mapped[int] = mapped_column()
    resolved_q: Mapped[int | None] = mapped_column(default=None)
    csat_q: Mapped[int | None] = mapped_column(default=None)
    nps_q: Mapped[int | None] = mapped_column(default=None)
    # Queue outcome (0 or 1 each); waits and handling in seconds.
    offered: Mapped[int] = mapped_column(default=0)
    answered: Mapped[int] = mapped_column(default=0)
    abandoned: Mapped[int] = mapped_column(default=0)
    short_abandoned: Mapped[int] = mapped_column(default=0)
    answered_in_sl: Mapped[int] = mapped_column(default=0)
    wait_s: Mapped[float | None] = mapped_column(default=None)  # answered only
    handle_s: Mapped[float | None] = mapped_column(default=None)
    frt_s: Mapped[float | None] = mapped_column(default=None)
    frt_business_s: Mapped[float | None] = mapped_column(default=None)
    art_sum_s: Mapped[float] = mapped_column(default=0.0)
    art_n: Mapped[int] = mapped_column(default=0)
    resolved: Mapped[int] = mapped_column(default=0)
    resolution_s: Mapped[float | None] = mapped_column(default=None)
    unresolved: Mapped[int] = mapped_column(default=0)
    unfinished: Mapped[int] = mapped_column(default=0)
    messages: Mapped[int] = mapped_column(default=0)
    duration_s: Mapped[float] = mapped_column(default=0.0)
    new_contact: Mapped[int] = mapped_column(default=0)
    bot_handled: Mapped[int] = mapped_column(default=0)
    bot_contained: Mapped[int] = mapped_column(default=0)
    transfers: Mapped[int] = mapped_column(default=0)
    transferred: Mapped[int] = mapped_column(default=0)
    csat: Mapped[int | None] = mapped_column(default=None)
    nps: Mapped[int | None] = mapped_column(default=None)
    sla_n: Mapped[int] = mapped_column(default=0)
    sla_met: Mapped[int] = mapped_column(default=0)


# The additive sums a roll-up row holds (names as in analytics/tally.py).
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


class Rollup(Base):
    """Sums of the fact rows per 15-minute bucket and channel, inbox, queue and team.

    Each sum sits in the bucket of its own timestamp (arrival, resolution, survey answer).
    A missing queue or team is 0 here (a key column cannot be NULL). Kept exact by
    analytics/rollups.py: a recomputed fact takes its old contribution out and puts the
    new one in, in the same transaction.
    """

    __tablename__ = "analytics_rollups"

    workspace_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    bucket: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(32), primary_key=True)
    inbox_id: Mapped[int] = mapped_column(BigId, primary_key=True)
    queue_id: Mapped[int] = mapped_column(BigId, primary_key=True)
    team_id: Mapped[int] = mapped_column(BigId, primary_key=True)
    conversations: Mapped[float] = mapped_column(Float, default=0.0)
    offered: Mapped[float] = mapped_column(Float, default=0.0)
    answered: Mapped[float] = mapped_column(Float, default=0.0)
    abandoned: Mapped[float] = mapped_column(Float, default=0.0)
    short_abandoned: Mapped[float] = mapped_column(Float, default=0.0)
    answered_in_sl: Mapped[float] = mapped_column(Float, default=0.0)
    wait_sum: Mapped[float] = mapped_column(Float, default=0.0)
    handle_sum: Mapped[float] = mapped_column(Float, default=0.0)
    handle_n: Mapped[float] = mapped_column(Float, default=0.0)
    frt_sum: Mapped[float] = mapped_column(Float, default=0.0)
    frt_n: Mapped[float] = mapped_column(Float, default=0.0)
    frtb_sum: Mapped[float] = mapped_column(Float, default=0.0)
    frtb_n: Mapped[float] = mapped_column(Float, default=0.0)
    art_sum: Mapped[float] = mapped_column(Float, default=0.0)
    art_n: Mapped[float] = mapped_column(Float, default=0.0)
    resolved_of_arrived: Mapped[float] = mapped_column(Float, default=0.0)
    unresolved: Mapped[float] = mapped_column(Float, default=0.0)
    unfinished: Mapped[float] = mapped_column(Float, default=0.0)
    messages: Mapped[float] = mapped_column(Float, default=0.0)
    duration_sum: Mapped[float] = mapped_column(Float, default=0.0)
    new_contacts: Mapped[float] = mapped_column(Float, default=0.0)
    bot_handled: Mapped[float] = mapped_column(Float, default=0.0)
    bot_contained: Mapped[float] = mapped_column(Float, default=0.0)
    transfers: Mapped[float] = mapped_column(Float, default=0.0)
    transferred: Mapped[float] = mapped_column(Float, default=0.0)
    sla_n: Mapped[float] = mapped_column(Float, default=0.0)
    sla_met: Mapped[float] = mapped_column(Float, default=0.0)
    resolved: Mapped[float] = mapped_column(Float, default=0.0)
    resolution_sum: Mapped[float] = mapped_column(Float, default=0.0)
    resolution_n: Mapped[float] = mapped_column(Float, default=0.0)
    csat_n: Mapped[float] = mapped_column(Float, default=0.0)
    csat_good: Mapped[float] = mapped_column(Float, default=0.0)
    csat_sum: Mapped[float] = mapped_column(Float, default=0.0)
    nps_n: Mapped[float] = mapped_column(Float, default=0.0)
    promoters: Mapped[float] = mapped_column(Float, default=0.0)
    detractors: Mapped[float] = mapped_column(Float, default=0.0)


class AgentDay(Base):
    """Sums of the fact rows per local day, agent and channel: what the agent leaderboard
    reads (analytics/agent_days.py).

    ``day`` is the bucket number of the local midnight that starts the day, in the zone
    named by ``SyncState.agent_zone`` (the workspace's, rebuilt when it changes); no agent
    is 0. Kept exact like the roll-ups: a recomputed fact takes its old contribution out and
    puts the new one in, in the same transaction.
    """

    __tablename__ = "analytics_agent_days"

    workspace_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = mapped_column(BigId, primary_key=True)
    channel: Mapped[str] = mapped_column(String(32), primary_key=True)
    conversations: Mapped[float] = mapped_column(Float, default=0.0)
    offered: Mapped[float] = mapped_column(Float, default=0.0)
    answered: Mapped[float] = mapped_column(Float, default=0.0)
    abandoned: Mapped[float] = mapped_column(Float, default=0.0)
    short_abandoned: Mapped[float] = mapped_column(Float, default=0.0)
    answered_in_sl: Mapped[float] = mapped_column(Float, default=0.0)
    wait_sum: Mapped[float] = mapped_column(Float, default=0.0)
    handle_sum: Mapped[float] = mapped_column(Float, default=0.0)
    handle_n: Mapped[float] = mapped_column(Float, default=0.0)
    frt_sum: Mapped[float] = mapped_column(Float, default=0.0)
    frt_n: Mapped[float] = mapped_column(Float, default=0.0)
    frtb_sum: Mapped[float] = mapped_column(Float, default=0.0)
    frtb_n: Mapped[float] = mapped_column(Float, default=0.0)
    art_sum: Mapped[float] = mapped_column(Float, default=0.0)
    art_n: Mapped[float] = mapped_column(Float, default=0.0)
    resolved_of_arrived: Mapped[float] = mapped_column(Float, default=0.0)
    unresolved: Mapped[float] = mapped_column(Float, default=0.0)
    unfinished: Mapped[float] = mapped_column(Float, default=0.0)
    messages: Mapped[float] = mapped_column(Float, default=0.0)
    duration_sum: Mapped[float] = mapped_column(Float, default=0.0)
    new_contacts: Mapped[float] = mapped_column(Float, default=0.0)
    bot_handled: Mapped[float] = mapped_column(Float, default=0.0)
    bot_contained: Mapped[float] = mapped_column(Float, default=0.0)
    transfers: Mapped[float] = mapped_column(Float, default=0.0)
    transferred: Mapped[float] = mapped_column(Float, default=0.0)
    sla_n: Mapped[float] = mapped_column(Float, default=0.0)
    sla_met: Mapped[float] = mapped_column(Float, default=0.0)
    resolved: Mapped[float] = mapped_column(Float, default=0.0)
    resolution_sum: Mapped[float] = mapped_column(Float, default=0.0)
    resolution_n: Mapped[float] = mapped_column(Float, default=0.0)
    csat_n: Mapped[float] = mapped_column(Float, default=0.0)
    csat_good: Mapped[float] = mapped_column(Float, default=0.0)
    csat_sum: Mapped[float] = mapped_column(Float, default=0.0)
    nps_n: Mapped[float] = mapped_column(Float, default=0.0)
    promoters: Mapped[float] = mapped_column(Float, default=0.0)
    detractors: Mapped[float] = mapped_column(Float, default=0.0)


class SyncState(Base):
    """Up to when a workspace's facts have caught up with conversation activity."""

    __tablename__ = "analytics_sync"

    workspace_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    synced_at: Mapped[datetime] = mapped_column()
    # The zone whose local days the agent days are cut in (None: not built yet).
    agent_zone: Mapped[str | None] = mapped_column(String(64), default=None)
