"""A survey request when a conversation is resolved, in the resolve's own transaction."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.conversations import repository as conversations
from omniline.kit import hooks
from omniline.surveys import service
from omniline.surveys.models import SurveySetting


async def on_resolved(session: AsyncSession, event: hooks.DomainEvent) -> None:
    conv_id = event.data.get("conversation_id")
    if not isinstance(conv_id, int):
        return
    conv = await conversations.held(session, conv_id)
    if conv is None or conv.workspace_id != event.workspace_id:
        return
    if conv.channel in service.UNSENDABLE:
        return
    setting = await session.scalar(
        select(SurveySetting).where(SurveySetting.inbox_id == conv.inbox_id)
    )
    if setting is None or not setting.enabled:
        return
    if conv.first_assigned_at is None and not setting.bot_only:
        return  # no agent took it: only when the admin asks for bot-only conversations too
    # Re-resolving after a reopen finds the first request and sends nothing more, unless
    # it was never sent (the customer came back before it left): then it goes now.
    if await service.do_create_request(session, conv, setting) is None:
        await service.do_resend_pending(session, conv, setting)


def register() -> None:
    hooks.on("conversation.resolved", on_resolved)
