"""The phone line's rating question after a call, from the inbox's survey settings.

The phone asks for one key (1-5) whatever the inbox's ``kind``: 0-10 does not fit one key
press. An inbox without survey settings keeps the line's own setting and spoken prompts.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.surveys.models import SurveySetting
from omniline.surveys.texts import language_of


@dataclass(frozen=True, slots=True)
class PhoneSurvey:
    enabled: bool
    question: str | None  # the admin's own words in the caller's language, or None
    thanks: str | None


async def phone_survey(
    session: AsyncSession, inbox_id: int, language: str | None
) -> PhoneSurvey | None:
    """None when the inbox has no survey settings (the line's own setting applies)."""
    setting = await session.scalar(select(SurveySetting).where(SurveySetting.inbox_id == inbox_id))
    if setting is None:
        return None
    own = (setting.texts or {}).get(language_of([language])) or {}
    return PhoneSurvey(
        enabled=setting.enabled,
        question=str(own.get("question") or "") or None,
        thanks=str(own.get("thanks") or "") or None,
    )
