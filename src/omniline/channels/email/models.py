from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from omniline.kit.models import Base, BigId, CreatedMixin, IdMixin


class EmailRef(IdMixin, CreatedMixin, Base):
    """A Message-ID we received or sent, and the conversation it belongs to.

    Replies name earlier letters in In-Reply-To/References: looking those ids up here threads
    a reply into its conversation, also when the earlier letter was an agent's web-chat reply
    sent by email because the visitor had left (offline fallback).
    """

    __tablename__ = "email_refs"
    __table_args__ = (UniqueConstraint("workspace_id", "message_id_header"),)

    workspace_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("workspaces.id", ondelete="CASCADE")
    )
    message_id_header: Mapped[str] = mapped_column(String(500))
    conversation_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    message_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("messages.id", ondelete="SET NULL"), default=None
    )


class MailboxState(Base):
    """Where the IMAP poller of one mailbox folder stands, so nothing is fetched twice or
    skipped across restarts (a new UIDVALIDITY means the server renumbered: start over)."""

    __tablename__ = "email_mailbox_state"
    __table_args__ = (UniqueConstraint("inbox_id", "folder"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    inbox_id: Mapped[int] = mapped_column(BigId, ForeignKey("inboxes.id", ondelete="CASCADE"))
    folder: Mapped[str] = mapped_column(String(200), default="INBOX")
    uidvalidity: Mapped[int | None] = mapped_column(BigInteger, default=None)
    last_uid: Mapped[int] = mapped_column(BigInteger, default=0)
    last_poll_at: Mapped[datetime | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(String(500), default=None)
