"""Canned responses: shared by the workspace or personal to one agent."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from omniline.kit.clock import utcnow
from omniline.kit.models import Base, BigId, CreatedMixin, IdMixin

SHARED_SCOPE = "shared"


def personal_scope(user_id: int) -> str:
    return f"user:{user_id}"


class CannedResponse(IdMixin, CreatedMixin, Base):
    """``scope`` is "shared" or "user:<id>": a shortcut is unique per scope, and a plain
    unique constraint on it works on both databases (NULL owners would not collide)."""

    __tablename__ = "canned_responses"
    __table_args__ = (UniqueConstraint("workspace_id", "scope", "shortcut"),)

    workspace_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("workspaces.id", ondelete="CASCADE")
    )
    scope: Mapped[str] = mapped_column(String(32))
    owner_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="CASCADE"), default=None, index=True
    )
    shortcut: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    # language code -> text; the conversation's language picks one, ``text`` is the fallback.
    translations: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
