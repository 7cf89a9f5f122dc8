"""Customers' ratings of a conversation (CSAT 1-5, NPS 0-10), whatever the channel.

One answer per conversation and kind, linked to the agent who handled it: the phone's
digit after a call is stored here now; the chat, messenger and email surveys use the
same table.
"""

from __future__ import annotations

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from omniline.kit.models import Base, BigId, CreatedMixin, IdMixin


class SurveyAnswer(IdMixin, CreatedMixin, Base):
    __tablename__ = "survey_answers"
    __table_args__ = (
        UniqueConstraint("conversation_id", "kind", name="uq_survey_answers_conv_kind"),
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
