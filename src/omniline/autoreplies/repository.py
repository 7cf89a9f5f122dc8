"""Queries of auto-reply rules and of the conversation facts a reply needs."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.autoreplies.models import AutoReplyRule, AutoReplyText
from omniline.conversations.models import ConversationEvent


async def rules(session: AsyncSession, workspace_id: int) -> list[AutoReplyRule]:
    stmt = (
        select(AutoReplyRule)
        .where(AutoReplyRule.workspace_id == workspace_id)
        .order_by(AutoReplyRule.kind, AutoReplyRule.name, AutoReplyRule.id)
    )
    return list(await session.scalars(stmt))


async def rule(session: AsyncSession, workspace_id: int, rule_id: int) -> AutoReplyRule | None:
    return await session.scalar(
        select(AutoReplyRule).where(
            AutoReplyRule.id == rule_id, AutoReplyRule.workspace_id == workspace_id
        )
    )


async def texts(session: AsyncSession, rule_ids: Sequence[int]) -> dict[int, dict[str, str]]:
    out: dict[int, dict[str, str]] = {rid: {} for rid in rule_ids}
    if not rule_ids:
        return out
    stmt = select(AutoReplyText).where(AutoReplyText.rule_id.in_(list(rule_ids)))
    for t in await session.scalars(stmt):
        out[t.rule_id][t.language] = t.text
    return out


async def replace_texts(session: AsyncSession, rule_id: int, by_language: dict[str, str]) -> None:
    await session.execute(delete(AutoReplyText).where(AutoReplyText.rule_id == rule_id))
    session.add_all(
        AutoReplyText(rule_id=rule_id, language=lang, text=text)
        for lang, text in sorted(by_language.items())
    )


async def same_scope(
    session: AsyncSession, workspace_id: int, kind: str, inbox_id: int | None, queue_id: int | None
) -> list[AutoReplyRule]:
    stmt = select(AutoReplyRule).where(
        AutoReplyRule.workspace_id == workspace_id,
        AutoReplyRule.kind == kind,
        AutoReplyRule.inbox_id.is_(None)
        if inbox_id is None
        else AutoReplyRule.inbox_id == inbox_id,
        AutoReplyRule.queue_id.is_(None)
        if queue_id is None
        else AutoReplyRule.queue_id == queue_id,
    )
    return list(await session.scalars(stmt))


async def enabled_rules(session: AsyncSession, workspace_id: int) -> list[AutoReplyRule]:
    stmt = select(AutoReplyRule).where(
        AutoReplyRule.workspace_id == workspace_id, AutoReplyRule.enabled.is_(True)
    )
    return list(await session.scalars(stmt))


async def events_of(
    session: AsyncSession, conversation_id: int, types: Sequence[str]
) -> list[ConversationEvent]:
    stmt = (
        select(ConversationEvent)
        .where(
            ConversationEvent.conversation_id == conversation_id,
            ConversationEvent.type.in_(list(types)),
        )
        .order_by(ConversationEvent.id)
    )
    return list(await session.scalars(stmt))
