"""Customers' ratings of a conversation (CSAT 1-5, NPS 0-10), whatever the channel.

- ``SurveySetting``: per inbox, whether and how to ask (texts per language in ``texts``).
- ``SurveyRequest``: one question asked of one customer (after a resolve, or sent for
  another occasion through the API): pending until sent, then sent, answered or expired.
- ``SurveyAnswer``: one answer per conversation, kind and trigger, linked to the agent.
  The source of truth for CSAT/CSI/NPS reports; the phone's digit after a call is stored
  here too.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from omniline.kit.models import Base, BigId, CreatedMixin, IdMixin


class SurveySetting(IdMixin, CreatedMixin, Base):
    __tablename__ = "survey_settings"

    workspace_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    inbox_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("inboxes.id", ondelete="CASCADE"), unique=True
    )
    enabled: Mapped[bool] = mapped_column(default=False)
    kind: Mapped[str] = mapped_column(String(8), default="csat")  # csat | nps
    ask_comment: Mapped[bool] = mapped_column(default=True)
    delay_minutes: Mapped[int] = mapped_column(default=0)
    expiry_hours: Mapped[int] = mapped_column(default=72)
    # A conversation that no agent ever took (the bot resolved it alone).
    bot_only: Mapped[bool] = mapped_column(default=False)
    # {"ru": {"question": .., "comment": .., "thanks": ..}, ...}; missing texts use defaults.
    texts: Mapped[dict[str, Any]] = mapped_column(default=dict)


class SurveyRequest(IdMixin, CreatedMixin, Base):
    __tablename__ = "survey_requests"
    __table_args__ = (
        UniqueConstraint("conversation_id", "trigger", name="uq_survey_requests_conv_trigger"),
    )

    workspace_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    conversation_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("conversations.id", ondelete="CASCADE")
    )
    contact_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("contacts.id", ondelete="CASCADE"), index=True
    )
    inbox_id: Mapped[int] = mapped_column(BigId, ForeignKey("inboxes.id", ondelete="CASCADE"))
    agent_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    channel: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(8))
    trigger: Mapped[str] = mapped_column(String(32), default="resolved")
    branch: Mapped[str | None] = mapped_column(String(100), default=None)
    language: Mapped[str] = mapped_column(String(8), default="en")
    # pending (not sent yet) | sent | answered | expired | failed
    status: Mapped[str] = mapped_column(String(16), default="pending")
    expires_at: Mapped[datetime] = mapped_column()
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
    answered_at: Mapped[datetime | None] = mapped_column(default=None)


class SurveyAnswer(IdMixin, CreatedMixin, Base):
    __tablename__ = "survey_answers"
    __table_args__ = (
        UniqueConstraint(
            "conversation_id", "kind", "trigger", name="uq_survey_answers_conv_kind_trigger"
        ),
    )

    workspace_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    conversation_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("conversations.id", ondelete="CASCADE")
    )
    agent_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="SET NULL"), default=None, index=True
    )
    channel: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(8), default="csat")  # csat | nps
    score: Mapped[int] = mapped_column()
    comment: Mapped[str | None] = mapped_column(Text, default=None)
    request_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("survey_requests.id", ondelete="SET NULL"), default=None
    )
    # What asked: "resolved" (chat/messenger/email after a resolve), "call" (the phone's
    # digit), or the name an integration gave ("branch_visit").
    trigger: Mapped[str] = mapped_column(String(32), default="resolved", server_default="resolved")
    language: Mapped[str | None] = mapped_column(String(8), default=None)
    inbox_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("inboxes.id", ondelete="SET NULL"), default=None
    )
