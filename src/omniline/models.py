"""Imports every model so that metadata (Alembic, tests) sees all tables."""

from omniline.analytics.models import Fact as AnalyticsFact
from omniline.analytics.models import SyncState as AnalyticsSync
from omniline.audit.models import AuditEntry
from omniline.auth.models import AuthToken, User
from omniline.autoreplies.models import AutoReplyRule, AutoReplyText
from omniline.bots.models import BotFlow, BotFlowVersion, BotSecret, BotSession
from omniline.canned.models import CannedResponse
from omniline.channels.email.models import EmailRef, MailboxState
from omniline.channels.voice.models import (
    CtiEvent,
    VoiceAgent,
    VoiceCall,
    VoiceCallback,
    VoiceCampaign,
    VoiceCampaignContact,
    VoiceLink,
    VoiceQueue,
)
from omniline.contacts.models import Contact, ContactEvent, ContactIdentity
from omniline.conversations.models import (
    Attachment,
    Conversation,
    ConversationEvent,
    ConversationTag,
    Message,
    ReplyKey,
)
from omniline.imports.models import ImportedCall
from omniline.inboxes.models import Inbox
from omniline.jobs.models import Job
from omniline.kit.models import Base
from omniline.notifications.models import Notification, NotificationTemplate
from omniline.presence.models import (
    AgentSkill,
    AgentState,
    Offer,
    PresenceInterval,
    PresenceSettings,
    QueueRouting,
)
from omniline.reports.models import ReportTarget, SavedReport
from omniline.routing.models import RoutingRule, RoutingVersion
from omniline.sla.models import BusinessCalendar, SlaDue, SlaPolicy, SlaTimer
from omniline.surveys.models import SurveyAnswer, SurveyRequest, SurveySetting
from omniline.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookSubscription
from omniline.workspaces.models import Queue, QueueMember, Team, TeamMember, Workspace

__all__ = [
    "AgentSkill",
    "AgentState",
    "AnalyticsFact",
    "AnalyticsSync",
    "Attachment",
    "AuditEntry",
    "AuthToken",
    "AutoReplyRule",
    "AutoReplyText",
    "Base",
    "BotFlow",
    "BotFlowVersion",
    "BotSecret",
    "BotSession",
    "BusinessCalendar",
    "CannedResponse",
    "Contact",
    "ContactEvent",
    "ContactIdentity",
    "Conversation",
    "ConversationEvent",
    "ConversationTag",
    "CtiEvent",
    "EmailRef",
    "ImportedCall",
    "Inbox",
    "Job",
    "MailboxState",
    "Message",
    "Notification",
    "NotificationTemplate",
    "Offer",
    "PresenceInterval",
    "PresenceSettings",
    "Queue",
    "QueueMember",
    "QueueRouting",
    "ReplyKey",
    "ReportTarget",
    "RoutingRule",
    "RoutingVersion",
    "SavedReport",
    "SlaDue",
    "SlaPolicy",
    "SlaTimer",
    "SurveyAnswer",
    "SurveyRequest",
    "SurveySetting",
    "Team",
    "TeamMember",
    "User",
    "VoiceAgent",
    "VoiceCall",
    "VoiceCallback",
    "VoiceCampaign",
    "VoiceCampaignContact",
    "VoiceLink",
    "VoiceQueue",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookSubscription",
    "Workspace",
]
