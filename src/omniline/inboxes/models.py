from __future__ import annotations

from typing import Any

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from omniline.kit.encryption import EncryptedString, SettingsWithSecrets
from omniline.kit.models import Base, BigId, CreatedMixin, IdMixin


class Inbox(IdMixin, CreatedMixin, Base):
    """One configured entry point of a channel: a widget, a mailbox, a bot, a phone line."""

    __tablename__ = "inboxes"

    workspace_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    channel: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    # Public key the widget script tag carries; unique across the installation.
    key: Mapped[str] = mapped_column(String(64), unique=True)
    # Secret the lender's server signs logged-in customers' external ids with.
    identity_secret: Mapped[str] = mapped_column(EncryptedString(512))
    default_queue_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("queues.id", ondelete="SET NULL"), default=None
    )
    # Secret-named entries (tokens, passwords) are stored encrypted (kit/encryption.py).
    settings: Mapped[dict[str, Any]] = mapped_column(SettingsWithSecrets(), default=dict)
    enabled: Mapped[bool] = mapped_column(default=True)
    # The bot flow that greets new conversations of this inbox (None: straight to routing).
    bot_flow_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("bot_flows.id", ondelete="SET NULL"), default=None
    )
