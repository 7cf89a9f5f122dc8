"""A customer's answer to a survey in a messenger: a button press or a bare digit.

The ingest writer (conversations/ingest.py) offers each incoming message here first.
``wants`` is a test without I/O, so ordinary messages cost nothing; ``take`` then looks
for the survey it answers: the request named in a ``survey:<id>:<score>`` payload, or the
customer's pending survey for a bare digit. A taken message is stored in the surveyed
conversation without reopening it (it is an answer, not a new question), and the
thank-you text is sent back.
"""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.contacts import repository as contacts
from omniline.conversations import notify
from omniline.conversations.inbound import InboundMessage
from omniline.conversations.models import (
    OPEN_STATUSES,
    AuthorType,
    Conversation,
    Delivery,
    Direction,
    Message,
)
from omniline.conversations.records import Received, _touch
from omniline.conversations.system_messages import do_send_system_message
from omniline.errors import DomainError
from omniline.inboxes.models import Inbox
from omniline.kit.clock import utcnow
from omniline.surveys import service, texts
from omniline.surveys.models import SurveyRequest

PAYLOAD = re.compile(r"^survey:(\d{1,15}):(\d{1,2})$")
DIGITS = re.compile(r"^\s*(\d{1,2})\s*$")


def _score_in(item: InboundMessage) -> tuple[int | None, int] | None:
    """(request id or None, score) when the message looks like an answer."""
    found = PAYLOAD.match(str(item.meta.get("button_payload") or ""))
    if found:
        return int(found.group(1)), int(found.group(2))
    digit = DIGITS.match(item.text or "")
    if digit and not item.attachments and not item.media:
        return None, int(digit.group(1))
    return None


def wants(item: InboundMessage) -> bool:
    return _score_in(item) is not None


async def take(session: AsyncSession, item: InboundMessage) -> Received | None:
    answer = _score_in(item)
    if answer is None:
        return None
    if item.external_id is not None:
        repeat = await session.scalar(
            select(Message.id).where(
                Message.inbox_id == item.inbox_id, Message.external_id == item.external_id
            )
        )
        if repeat is not None:
            return None  # the ordinary path answers a repeat as a duplicate
    contact_id = item.contact_id or await _contact_of(session, item)
    if contact_id is None:
        return None
    request_id, score = answer
    if request_id is not None:
        req = await session.get(SurveyRequest, request_id)
        if req is None or req.inbox_id != item.inbox_id or req.contact_id != contact_id:
            return None
    else:
        req = await service.pending_request(session, item.inbox_id, contact_id)
        if req is None or await _talking(session, item.inbox_id, contact_id):
            # A digit with no survey waiting, or said in a conversation that is going on
            # (an answer to an agent's question), is an ordinary message.
            return None
        low, high = service.SCALES[req.kind]
        if not low <= score <= high:
            return None
    conv = await session.get(Conversation, req.conversation_id)
    if conv is None:
        return None
    msg = await _store(session, conv, item, contact_id)
    try:
        await service.do_answer(session, req, score)
    except DomainError:
        return Received(msg)  # pressed again, or too late: stored, nothing more
    setting = await service.setting_of(session, req.workspace_id, req.inbox_id)
    said = texts.texts_for(req.kind, setting.texts or {}, req.language)
    inbox = await session.get(Inbox, req.inbox_id)
    await do_send_system_message(
        session,
        conv,
        said["thanks"],
        author_type=AuthorType.bot.value,
        author_name=inbox.name if inbox else "",
        kind="survey_thanks",
    )
    return Received(msg)


async def _talking(session: AsyncSession, inbox_id: int, contact_id: int) -> bool:
    found = await session.scalar(
        select(Conversation.id)
        .where(
            Conversation.inbox_id == inbox_id,
            Conversation.contact_id == contact_id,
            Conversation.status.in_([s.value for s in OPEN_STATUSES]),
        )
        .limit(1)
    )
    return found is not None


async def _contact_of(session: AsyncSession, item: InboundMessage) -> int | None:
    inbox = await session.get(Inbox, item.inbox_id)
    address = (item.sender_address or "").strip()
    if inbox is None or not address:
        return None
    contact = await contacts.by_identity(session, inbox.workspace_id, inbox.channel, address)
    return contact.id if contact else None


async def _store(
    session: AsyncSession, conv: Conversation, item: InboundMessage, contact_id: int
) -> Message:
    msg = Message(
        workspace_id=conv.workspace_id,
        conversation_id=conv.id,
        inbox_id=item.inbox_id,
        external_id=item.external_id,
        direction=Direction.inbound.value,
        author_type=AuthorType.contact.value,
        author_id=contact_id,
        author_name=item.sender_name or "",
        text=item.text,
        meta=dict(item.meta),
        delivery_status=Delivery.received.value,
        created_at=item.received_at or utcnow(),
    )
    session.add(msg)
    await session.flush()
    _touch(conv, msg)
    notify.message_created(session, conv, msg, [])
    return msg
