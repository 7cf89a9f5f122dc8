"""Storing a customer's rating: one answer per conversation and kind, linked to the agent."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.conversations.models import Conversation
from omniline.errors import Invalid
from omniline.surveys.models import SurveyAnswer

SCALES = {"csat": (1, 5), "nps": (0, 10)}


async def record_answer(
    session: AsyncSession,
    conv: Conversation,
    *,
    agent_id: int | None,
    kind: str,
    score: int,
    comment: str | None = None,
) -> SurveyAnswer:
    """The answer, or the one already given (a repeated digit or form changes nothing)."""
    low, high = SCALES.get(kind, (None, None))
    if low is None or high is None:
        raise Invalid("kind", "must be csat or nps")
    if not low <= score <= high:
        raise Invalid("score", f"must be from {low} to {high}")
    found = await session.scalar(
        select(SurveyAnswer).where(
            SurveyAnswer.conversation_id == conv.id, SurveyAnswer.kind == kind
        )
    )
    if found is not None:
        return found
    answer = SurveyAnswer(
        workspace_id=conv.workspace_id,
        conversation_id=conv.id,
        agent_id=agent_id if agent_id is not None else conv.assignee_id,
        channel=conv.channel,
        kind=kind,
        score=score,
        comment=(comment or "").strip()[:2000] or None,
    )
    session.add(answer)
    await session.flush()
    return answer
