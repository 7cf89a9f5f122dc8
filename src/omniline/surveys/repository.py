"""Queries of survey answers (the results API)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.auth import access
from omniline.auth.principal import Principal
from omniline.conversations.models import Conversation
from omniline.surveys.models import SurveyAnswer


@dataclass(slots=True)
class Filters:
    since: datetime | None = None
    until: datetime | None = None
    inbox_id: int | None = None
    agent_id: int | None = None
    kind: str | None = None
    before_id: int | None = None


async def answers(
    session: AsyncSession, p: Principal, f: Filters, limit: int
) -> list[SurveyAnswer]:
    """Newest first; a supervisor sees the answers of the queues they see."""
    query = (
        select(SurveyAnswer)
        .join(Conversation, Conversation.id == SurveyAnswer.conversation_id)
        .where(
            SurveyAnswer.workspace_id == p.workspace_id,
            access.visibility_clause(p, Conversation.queue_id, Conversation.assignee_id),
        )
    )
    if f.since is not None:
        query = query.where(SurveyAnswer.created_at >= f.since)
    if f.until is not None:
        query = query.where(SurveyAnswer.created_at < f.until)
    if f.inbox_id is not None:
        query = query.where(SurveyAnswer.inbox_id == f.inbox_id)
    if f.agent_id is not None:
        query = query.where(SurveyAnswer.agent_id == f.agent_id)
    if f.kind is not None:
        query = query.where(SurveyAnswer.kind == f.kind)
    if f.before_id is not None:
        query = query.where(SurveyAnswer.id < f.before_id)
    return list(await session.scalars(query.order_by(SurveyAnswer.id.desc()).limit(limit)))
