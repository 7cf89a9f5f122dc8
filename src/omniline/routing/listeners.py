"""Routing's part in opening a conversation (wired before the bot's in ``wiring.py``)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from omniline.conversations.models import Conversation
from omniline.kit import hooks
from omniline.routing.service import route_new_conversation


async def on_opening(session: AsyncSession, event: hooks.DomainEvent) -> None:
    """Rules set queue, priority, tags and language; ``skip_bot`` tells the bot to stay out."""
    conv = event.data["conversation"]
    assert isinstance(conv, Conversation)
    decision = await route_new_conversation(
        session,
        conv,
        first_text=str(event.data.get("first_text") or ""),
        to_address=event.data.get("to_address"),
        topic=event.data.get("topic"),
    )
    if decision is not None and decision.skip_bot:
        event.data["skip_bot"] = True


def register() -> None:
    hooks.on("conversation.opening", on_opening)
