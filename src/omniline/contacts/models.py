from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from omniline.kit.clock import utcnow
from omniline.kit.models import Base, BigId, CreatedMixin, IdMixin


class Contact(IdMixin, CreatedMixin, Base):
    """A customer. One contact may write from several channels (identities)."""

    __tablename__ = "contacts"
    __table_args__ = (
        UniqueConstraint("workspace_id", "external_id"),
        Index("ix_contacts_ws_email", "workspace_id", "email"),
        Index("ix_contacts_ws_phone", "workspace_id", "phone"),
    )

    workspace_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("workspaces.id", ondelete="CASCADE")
    )
    name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str | None] = mapped_column(String(320), default=None)
    phone: Mapped[str | None] = mapped_column(String(32), default=None)
    language: Mapped[str | None] = mapped_column(String(8), default=None)
    country: Mapped[str | None] = mapped_column(String(2), default=None)
    timezone: Mapped[str | None] = mapped_column(String(64), default=None)
    external_id: Mapped[str | None] = mapped_column(String(200), default=None)
    verified: Mapped[bool] = mapped_column(default=False)
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # The customer asked not to get proactive notifications (a reply of STOP, or the CRM).
    notifications_opt_out: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ContactIdentity(IdMixin, CreatedMixin, Base):
    """How a contact is addressed in one channel (a widget visitor id, a phone, an email)."""

    __tablename__ = "contact_identities"
    __table_args__ = (UniqueConstraint("workspace_id", "channel", "address"),)

    workspace_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("workspaces.id", ondelete="CASCADE")
    )
    contact_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("contacts.id", ondelete="CASCADE"), index=True
    )
    channel: Mapped[str] = mapped_column(String(32))
    address: Mapped[str] = mapped_column(String(320))
    # A live connection (widget/app socket) keeps pushing this forward; past it the customer
    # counts as away (offline email fallback, mobile push).
    live_until: Mapped[datetime | None] = mapped_column(default=None)


class ContactEvent(IdMixin, Base):
    """Something the CRM says happened to the contact ("contract_signed")."""

    __tablename__ = "contact_events"
    __table_args__ = (Index("ix_contact_events_contact", "contact_id", "occurred_at"),)

    workspace_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("workspaces.id", ondelete="CASCADE")
    )
    contact_id: Mapped[int] = mapped_column(BigId, ForeignKey("contacts.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
