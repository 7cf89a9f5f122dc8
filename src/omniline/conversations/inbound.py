"""What a channel hands to the core for one customer message (DESIGN.md §4)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from omniline.conversations.attachments import StoredFile


@dataclass(slots=True)
class InboundMessage:
    """One message from a customer.

    Either ``contact_id`` is known (a widget session) or the core finds or creates
    the contact from ``sender_address`` in the inbox's channel.
    ``external_id`` is the channel's id of the message: a repeat is stored once.
    """

    workspace_id: int
    inbox_id: int
    text: str
    external_id: str | None = None
    contact_id: int | None = None
    sender_address: str | None = None
    sender_name: str | None = None
    attachments: list[StoredFile] = field(default_factory=list)
    received_at: datetime | None = None
    # Routing conditions: the mailbox a letter was sent to, the topic a bot or menu chose.
    to_address: str | None = None
    topic: str | None = None
