"""Messenger's delivery and read reports onto the outbound messages.

A ``delivery`` names the delivered message ids; a ``read`` (and a delivery without ids)
only gives a watermark: everything we sent that person before that moment.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.channels._kit import WebhookInbox
from omniline.channels.messenger.inbound import StatusReport
from omniline.contacts import repository as contacts
from omniline.conversations.delivery import update_delivery_status
from omniline.conversations.models import Conversation, Delivery, Direction, Message

CHANNEL = "messenger"
LIMIT = 200


async def sent_before(
    session: AsyncSession, inbox: WebhookInbox, psid: str, before: datetime
) -> list[str]:
    """External ids of our messages to this person, sent and not yet read, up to ``before``."""
    contact = await contacts.by_identity(session, inbox.workspace_id, CHANNEL, psid)
    if contact is None:
        return []
    conv_ids = select(Conversation.id).where(
        Conversation.contact_id == contact.id, Conversation.inbox_id == inbox.id
    )
    rows = await session.scalars(
        select(Message.external_id)
        .where(
            Message.conversation_id.in_(conv_ids),
            Message.direction == Direction.outbound.value,
            Message.delivery_status.in_([Delivery.sent.value, Delivery.delivered.value]),
            Message.external_id.is_not(None),
            Message.created_at <= before,
        )
        .order_by(Message.id.desc())
        .limit(LIMIT)
    )
    return [r for r in rows if r]


async def apply(session: AsyncSession, inbox: WebhookInbox, report: StatusReport) -> None:
    status = Delivery.read if report.status == "read" else Delivery.delivered
    mids = report.mids
    if not mids and report.watermark_ms is not None:
        moment = datetime.fromtimestamp(report.watermark_ms / 1000, UTC)
        mids = await sent_before(session, inbox, report.psid, moment)
    for mid in mids:
        await update_delivery_status(session, inbox.id, mid, status)
