"""The bot's part in a conversation's life (wired in ``wiring.py``, after routing)."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.autoreplies.languages import wanted
from omniline.bots import ahead
from omniline.bots.models import BotFlow, BotSession, SessionStatus
from omniline.contacts.models import Contact
from omniline.conversations.models import Conversation, Direction, Message, Status
from omniline.inboxes.models import Inbox
from omniline.jobs import service as jobs
from omniline.kit import hooks
from omniline.kit.clock import utcnow


async def on_opening(session: AsyncSession, event: hooks.DomainEvent) -> None:
    """A new conversation of an inbox with a published greeting flow starts in that flow,
    unless a routing rule said to skip the bot."""
    conv = event.data["conversation"]
    assert isinstance(conv, Conversation)
    if event.data.get("skip_bot"):
        return
    inbox = await session.get(Inbox, conv.inbox_id)
    if inbox is None or inbox.bot_flow_id is None:
        return
    flow = await session.get(BotFlow, inbox.bot_flow_id)
    if flow is None or flow.published_version_id is None:
        return
    contact = await session.get(Contact, conv.contact_id)
    language = wanted([conv.language, contact.language if contact else None]) or ""
    conv.status = Status.bot.value
    session.add(
        BotSession(
            workspace_id=conv.workspace_id,
            conversation_id=conv.id,
            flow_id=flow.id,
            version_id=flow.published_version_id,
            language=language or "",
        )
    )


async def on_message(session: AsyncSession, event: hooks.DomainEvent) -> None:
    """A customer's message to a conversation the bot holds: a turn, after commit, in a job."""
    if event.data.get("direction") != Direction.inbound.value:
        return
    conv_id = event.data.get("conversation_id")
    if not isinstance(conv_id, int):
        return
    conv = await session.get(Conversation, conv_id)
    if conv is None or conv.status != Status.bot.value:
        return
    msg_id = event.data.get("message_id")
    msg = await session.get(Message, msg_id) if isinstance(msg_id, int) else None
    if msg is not None and msg.text:
        ahead.start(session, conv_id, msg.text)  # its FAQ match starts once committed
    queued: set[int] = session.info.setdefault("bots.turns", set())
    if conv_id in queued:
        return
    queued.add(conv_id)
    await jobs.enqueue(
        session, "bot_turn", {"conversation_id": conv_id}, workspace_id=conv.workspace_id
    )


async def on_taken(session: AsyncSession, events: list[hooks.DomainEvent]) -> None:
    """A person took conversations (assigned, transferred, requeued, resolved by an agent):
    their flows stop at once; messages after this go to the person. One statement a batch."""
    ids = [
        e.data["conversation_id"]
        for e in events
        if isinstance(e.data.get("conversation_id"), int)
        and e.data.get("by") != "bot"
        # A conversation created into a queue, or handed over by its bot, has no flow to stop.
        and e.data.get("reason") not in ("bot_handoff", "created")
    ]
    if not ids:
        return
    await session.execute(
        update(BotSession)
        .where(
            BotSession.conversation_id.in_(ids),
            BotSession.status == SessionStatus.active.value,
        )
        .values(status=SessionStatus.dropped.value, outcome="taken_over", ended_at=utcnow())
    )


def register() -> None:
    hooks.on("conversation.opening", on_opening)
    hooks.on("message.created", on_message)
    for event_type in ("conversation.assigned", "conversation.queued", "conversation.resolved"):
        hooks.on_batch(event_type, on_taken)
