"""Calls, callback requests, agents' phones, voice queue settings and the PBX link's health.

A call is a conversation (channel ``voice``); this table keeps what the phone adds: the
PBX's id of the customer's leg, the seconds that service levels are computed from, and
where the call stands, so a restarted controller picks up every call in flight.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from omniline.kit.models import Base, BigId, CreatedMixin, IdMixin


class CallState(StrEnum):
    ivr = "ivr"  # in the phone menu
    queued = "queued"  # waiting for an agent (music, announcements)
    ringing = "ringing"  # an agent's phone rings
    talking = "talking"
    hold = "hold"
    ended = "ended"


class EndReason(StrEnum):
    answered = "answered"  # talked to an agent, then hung up
    abandoned = "abandoned"  # hung up while queued
    ivr = "ivr"  # ended in the menu (self-service, or hung up there)
    overflow = "overflow"  # sent to an external number after the overflow time
    expired = "expired"  # the queue's maximum wait passed
    transferred = "transferred"  # the agent sent it to an external number
    callback = "callback"  # the caller chose a callback in the menu
    lost = "lost"  # the PBX lost it (restart, link down): counted, never silently dropped
    failed = "failed"  # an outbound leg that never connected


class VoiceCall(IdMixin, CreatedMixin, Base):
    __tablename__ = "voice_calls"
    __table_args__ = (
        UniqueConstraint("inbox_id", "ref", name="uq_voice_calls_inbox_ref"),
        Index("ix_voice_calls_live", "inbox_id", "state"),
        Index("ix_voice_calls_ws_queued", "workspace_id", "queued_at"),
    )

    workspace_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("workspaces.id", ondelete="CASCADE")
    )
    inbox_id: Mapped[int] = mapped_column(BigId, ForeignKey("inboxes.id", ondelete="CASCADE"))
    conversation_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    contact_id: Mapped[int] = mapped_column(BigId, ForeignKey("contacts.id", ondelete="CASCADE"))
    # The PBX's id of the customer's leg (inbound), or ours (outbound).
    ref: Mapped[str] = mapped_column(String(128))
    direction: Mapped[str] = mapped_column(String(3), default="in")
    caller: Mapped[str] = mapped_column(String(40), default="")
    dialled: Mapped[str] = mapped_column(String(40), default="")
    state: Mapped[str] = mapped_column(String(16), default=CallState.ivr.value)
    queue_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("queues.id", ondelete="SET NULL"), default=None
    )
    agent_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="SET NULL"), default=None, index=True
    )
    priority: Mapped[int] = mapped_column(default=0)
    language: Mapped[str] = mapped_column(String(8), default="")
    arrived_at: Mapped[datetime] = mapped_column()
    queued_at: Mapped[datetime | None] = mapped_column(default=None)
    answered_at: Mapped[datetime | None] = mapped_column(default=None)
    ended_at: Mapped[datetime | None] = mapped_column(default=None)
    hold_started_at: Mapped[datetime | None] = mapped_column(default=None)
    hold_s: Mapped[float] = mapped_column(default=0.0)
    end_reason: Mapped[str | None] = mapped_column(String(16), default=None)
    hangup_side: Mapped[str | None] = mapped_column(String(16), default=None)
    hangup_cause: Mapped[int | None] = mapped_column(default=None)
    short_abandon: Mapped[bool] = mapped_column(default=False)
    # The agent's leg while ringing or talking (our id of it).
    leg: Mapped[str | None] = mapped_column(String(128), default=None)
    acw_until: Mapped[datetime | None] = mapped_column(default=None)
    disposition: Mapped[str | None] = mapped_column(String(64), default=None)
    notes: Mapped[str | None] = mapped_column(Text, default=None)
    csat: Mapped[int | None] = mapped_column(default=None)
    # The menu's state (bot engine) while the call is in the IVR or the CSAT question.
    ivr: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    recording: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    callback_id: Mapped[int | None] = mapped_column(BigId, default=None)


class CallbackStatus(StrEnum):
    pending = "pending"
    dialing = "dialing"
    done = "done"
    cancelled = "cancelled"
    failed = "failed"


class VoiceCallback(IdMixin, CreatedMixin, Base):
    """A promise to call a customer back, keeping the place in line they had."""

    __tablename__ = "voice_callbacks"
    __table_args__ = (Index("ix_voice_callbacks_live", "inbox_id", "status", "next_attempt_at"),)

    workspace_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("workspaces.id", ondelete="CASCADE")
    )
    inbox_id: Mapped[int] = mapped_column(BigId, ForeignKey("inboxes.id", ondelete="CASCADE"))
    queue_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("queues.id", ondelete="SET NULL"), default=None
    )
    contact_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("contacts.id", ondelete="CASCADE"), index=True
    )
    conversation_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("conversations.id", ondelete="SET NULL"), default=None
    )
    number: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(16), default=CallbackStatus.pending.value)
    reason: Mapped[str] = mapped_column(String(16))  # abandoned, menu, widget, agent
    place_at: Mapped[datetime] = mapped_column()  # the caller's original place in line
    priority: Mapped[int] = mapped_column(default=0)
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=3)
    next_attempt_at: Mapped[datetime] = mapped_column()
    timezone: Mapped[str | None] = mapped_column(String(64), default=None)
    last_result: Mapped[str | None] = mapped_column(String(32), default=None)
    agent_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    closed_at: Mapped[datetime | None] = mapped_column(default=None)
    closed_by: Mapped[int | None] = mapped_column(BigId, default=None)


class VoiceAgent(Base):
    """An agent's phone: the extension Omniline rings for them."""

    __tablename__ = "voice_agents"
    __table_args__ = (
        UniqueConstraint("workspace_id", "endpoint", name="uq_voice_agents_endpoint"),
    )

    user_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    workspace_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("workspaces.id", ondelete="CASCADE")
    )
    endpoint: Mapped[str] = mapped_column(String(128))
    # Skills a call may require (language codes, "mortgage"...).
    skills: Mapped[list[str]] = mapped_column(JSON, default=list)


class VoiceQueue(Base):
    """A queue's phone settings; without a row the defaults below apply."""

    __tablename__ = "voice_queues"

    queue_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("queues.id", ondelete="CASCADE"), primary_key=True
    )
    workspace_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("workspaces.id", ondelete="CASCADE")
    )
    strategy: Mapped[str] = mapped_column(String(16), default="longest_idle")
    service_level_s: Mapped[int] = mapped_column(default=20)
    service_level_target: Mapped[float] = mapped_column(default=0.8)
    ring_timeout_s: Mapped[int] = mapped_column(default=20)
    overflow_after_s: Mapped[int | None] = mapped_column(default=None)
    overflow_to_queue_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("queues.id", ondelete="SET NULL"), default=None
    )
    overflow_to_number: Mapped[str | None] = mapped_column(String(40), default=None)
    max_wait_s: Mapped[int | None] = mapped_column(default=None)
    announce_every_s: Mapped[int | None] = mapped_column(default=30)


class VoiceLink(Base):
    """Which process holds a voice inbox's PBX connection, and how the PBX answers."""

    __tablename__ = "voice_links"

    inbox_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("inboxes.id", ondelete="CASCADE"), primary_key=True
    )
    workspace_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("workspaces.id", ondelete="CASCADE")
    )
    holder: Mapped[str | None] = mapped_column(String(128), default=None)
    lease_until: Mapped[datetime | None] = mapped_column(default=None)
    up: Mapped[bool] = mapped_column(default=False)
    changed_at: Mapped[datetime | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(String(500), default=None)


class CtiEvent(IdMixin, CreatedMixin, Base):
    """A generic-CTI webhook event, committed before the 2xx and handled by the link holder."""

    __tablename__ = "voice_cti_events"
    __table_args__ = (UniqueConstraint("inbox_id", "event_id", name="uq_voice_cti_events_id"),)

    inbox_id: Mapped[int] = mapped_column(BigId, ForeignKey("inboxes.id", ondelete="CASCADE"))
    event_id: Mapped[str] = mapped_column(String(128))
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    handled: Mapped[bool] = mapped_column(default=False, index=True)


class CampaignStatus(StrEnum):
    draft = "draft"
    running = "running"
    paused = "paused"
    done = "done"


class CampaignContactStatus(StrEnum):
    pending = "pending"  # waits for its next attempt (and its dialling window)
    dialing = "dialing"  # a call is in flight
    done = "done"  # the customer answered: ``result`` says how it went
    failed = "failed"  # no answer after the last attempt
    skipped = "skipped"  # never dialled (the customer opted out of proactive contact)


class VoiceCampaign(IdMixin, CreatedMixin, Base):
    """Calls Omniline makes to a list of customers: a flow played to whoever answers (``bot``)
    or a progressive dialler that connects them to the agents of a queue (``agent``)."""

    __tablename__ = "voice_campaigns"
    __table_args__ = (Index("ix_voice_campaigns_inbox_status", "inbox_id", "status"),)

    workspace_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    inbox_id: Mapped[int] = mapped_column(BigId, ForeignKey("inboxes.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    flow_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("bot_flows.id", ondelete="SET NULL"), default=None
    )
    mode: Mapped[str] = mapped_column(String(8), default="bot")  # bot | agent
    queue_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("queues.id", ondelete="SET NULL"), default=None
    )
    hours: Mapped[str] = mapped_column(String(11), default="09:00-20:00")  # in the contact's zone
    max_attempts: Mapped[int] = mapped_column(default=3)
    retry_after_s: Mapped[int] = mapped_column(default=3600)
    max_concurrent: Mapped[int] = mapped_column(default=5)  # bot mode: calls in flight at once
    status: Mapped[str] = mapped_column(String(16), default=CampaignStatus.draft.value)
    created_by: Mapped[int | None] = mapped_column(BigId, default=None)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)


class VoiceCampaignContact(IdMixin, CreatedMixin, Base):
    """One customer of a campaign: where their calls stand and what came of them."""

    __tablename__ = "voice_campaign_contacts"
    __table_args__ = (
        UniqueConstraint("campaign_id", "number", name="uq_voice_campaign_contacts_number"),
        Index("ix_voice_campaign_contacts_due", "campaign_id", "status", "next_attempt_at"),
    )

    workspace_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("workspaces.id", ondelete="CASCADE")
    )
    campaign_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("voice_campaigns.id", ondelete="CASCADE")
    )
    contact_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("contacts.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[str] = mapped_column(String(40))  # E.164
    name: Mapped[str] = mapped_column(String(200), default="")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    status: Mapped[str] = mapped_column(String(16), default=CampaignContactStatus.pending.value)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column()
    result: Mapped[str | None] = mapped_column(String(32), default=None)
    # What the list gave the flow ({"amount": "1500"}) and what the flow collected.
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    variables: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    last_call_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("voice_calls.id", ondelete="SET NULL"), default=None
    )
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
