"""Routing's part in opening conversations (wired before the bot's in ``wiring.py``)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from omniline.conversations.models import Conversation
from omniline.kit import hooks
from omniline.routing.service import NewConversation, route_new_conversations


async def on_opening(session: AsyncSession, events: list[hooks.DomainEvent]) -> None:
    """Rules set queue, priority, tags and language of a batch of new conversations in one
    pass; ``skip_bot`` tells the bot to stay out."""
    items = []
    for event in events:
        conv = event.data["conversation"]
        assert isinstance(conv, Conversation)
        to_address, topic = event.data.get("to_address"), event.data.get("topic")
        items.append(
            NewConversation(
                conv,
                str(event.data.get("first_text") or ""),
                to_address if isinstance(to_address, str) else None,
                topic if isinstance(topic, str) else None,
            )
        )
    decisions = await route_new_conversations(session, items)
    for event, decision in zip(events, decisions, strict=True):
        if decision is not None and decision.skip_bot:
            event.data["skip_bot"] = True


def register() -> None:
    hooks.on_batch("conversation.opening", on_opening)
