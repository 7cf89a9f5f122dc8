"""Imports every model so that metadata (Alembic, tests) sees all tables."""

from omniline.auth.models import AuthToken, User
from omniline.contacts.models import Contact, ContactEvent, ContactIdentity
from omniline.conversations.models import (
    Attachment,
    Conversation,
    ConversationEvent,
    ConversationTag,
    Message,
)
from omniline.inboxes.models import Inbox
from omniline.jobs.models import Job
from omniline.kit.models import Base
from omniline.workspaces.models import Queue, QueueMember, Team, TeamMember, Workspace

__all__ = [
    "Attachment",
    "AuthToken",
    "Base",
    "Contact",
    "ContactEvent",
    "ContactIdentity",
    "Conversation",
    "ConversationEvent",
    "ConversationTag",
    "Inbox",
    "Job",
    "Message",
    "Queue",
    "QueueMember",
    "Team",
    "TeamMember",
    "User",
    "Workspace",
]
