"""How SLA clocks follow conversations: subscriptions to domain events (kit.hooks)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from omniline.conversations import repository as conversations
from omniline.conversations.models import AuthorType, Conversation, Direction
from omniline.kit import hooks
from omniline.kit.hooks import DomainEvent
from omniline.sla import timers


async def _conversation(session: AsyncSession, event: DomainEvent) -> Conversation | None:
    conv_id = event.data.get("conversation_id")
    if not isinstance(conv_id, int):
        return None
    conv = await conversations.held(session, conv_id)
    if conv is None or conv.workspace_id != event.workspace_id:
        return None
    return conv


async def on_queued(session: AsyncSession, events: list[DomainEvent]) -> None:
    """Created, queued, transferred or requeued: clocks start or move to the new policy.

    A batch listener: a batch of new conversations aligns their clocks together.
    """
    convs = [conv for event in events if (conv := await _conversation(session, event))]
    await timers.align_many(session, convs)


async def on_reopened(session: AsyncSession, event: DomainEvent) -> None:
    conv = await _conversation(session, event)
    if conv is not None:
        await timers.align(session, conv, restart_resolution=True)


async def on_resolved(session: AsyncSession, event: DomainEvent) -> None:
    conv = await _conversation(session, event)
    if conv is not None:
        await timers.on_resolved(session, conv)


async def on_message(session: AsyncSession, event: DomainEvent) -> None:
    if event.data.get("private"):
        return
    direction, author = event.data.get("direction"), event.data.get("author_type")
    agent_reply = direction == Direction.outbound.value and author == AuthorType.agent.value
    customer = direction == Direction.inbound.value and author == AuthorType.contact.value
    if not (agent_reply or customer):
        return  # bots and system messages neither answer nor ask
    conv = await _conversation(session, event)
    if conv is None:
        return
    if agent_reply:
        await timers.on_agent_reply(session, conv)
    else:
        await timers.on_customer_message(session, conv)


def register() -> None:
    from omniline.sla import jobs  # noqa: F401  (registers the sla_check handler)

    # Not "conversation.created": its only sender (conversations.receive) follows it with
    # "conversation.queued" for a conversation with a queue, and one without a queue has
    # neither a policy nor timers to stop. Aligning twice cost two reads per conversation.
    hooks.on_batch("conversation.queued", on_queued)
    hooks.on("conversation.reopened", on_reopened)
    hooks.on("conversation.resolved", on_resolved)
    hooks.on("message.created", on_message)
