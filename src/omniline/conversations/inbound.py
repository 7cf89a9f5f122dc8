"""What a channel hands to the core for one customer message (DESIGN.md §4)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from omniline.conversations.attachments import StoredFile

# Keys of ``Message.meta`` that channels and the workspace share. A channel may add its own
# keys under its channel name (``meta["telegram"] = {...}``).
MESSAGE_META = {
    "subject": "email subject line (str)",
    "html": "sanitised HTML of an email body, shown in a sandboxed frame (str)",
    "quoted": "quoted history and signature folded away from the text (str)",
    "auto_submitted": "an automatic letter (auto-reply, bounce): never answered (bool)",
    "buttons": "reply buttons: [{'text': str, 'payload': str | None, 'url': str | None}]",
    "button_payload": "the payload of the button a customer pressed (str)",
    "template": "a pre-approved template: {'name': str, 'language': str, 'params': [str]}",
    "media_pending": "files the channel still has to download: number (int)",
    "media_failed": "files that could not be fetched: [{'filename': str, 'reason': str}]",
    "sent_by_email": "an agent reply also sent by email because the visitor left (str address)",
}


@dataclass(slots=True)
class MediaRef:
    """A file the channel will download after the message is committed (a job, with retries)."""

    ref: dict[str, Any]
    filename: str | None = None
    content_type: str | None = None
    size: int | None = None


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
    # Threading: append to this conversation (an email reply); a resolved one is reopened,
    # a closed or unknown one is ignored. ``new_conversation`` starts a new case even when
    # the contact has an open one in this inbox (a new email thread).
    conversation_id: int | None = None
    new_conversation: bool = False
    # Channel details kept on the message (MESSAGE_META).
    meta: dict[str, Any] = field(default_factory=dict)
    # Files fetched by the ``fetch_media`` job after the commit (register_media_fetcher).
    media: list[MediaRef] = field(default_factory=list)
    # What the channel learned about the sender: filled into an empty contact field, and the
    # phone/email become identities in the "phone"/"email" channels for matching.
    contact_phone: str | None = None
    contact_email: str | None = None
