"""The voice queue figures of live calls, computed with the same definitions (and the same
code) as the replay of recorded calls: docs/metrics.md, "Voice"."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.acd.metrics import Outcome, Tally
from omniline.channels.voice.models import EndReason, VoiceCall


async def figures(
    session: AsyncSession,
    workspace_id: int,
    since: datetime,
    until: datetime,
    *,
    queue_id: int | None = None,
    short_s: float = 5.0,
    threshold_s: float = 20.0,
) -> dict[str, Any]:
    """Offered = calls that entered a queue in [since, until); answered or abandoned by
    how they left it. Calls that left the queue another way (overflow to a number, the
    maximum wait, a callback chosen while waiting, lost by the PBX) are counted apart and
    are in none of the ratios; calls still waiting are not counted yet."""
    stmt = select(
        VoiceCall.queued_at, VoiceCall.answered_at, VoiceCall.ended_at, VoiceCall.end_reason
    ).where(
        VoiceCall.workspace_id == workspace_id,
        VoiceCall.direction == "in",
        VoiceCall.queued_at >= since,
        VoiceCall.queued_at < until,
    )
    if queue_id is not None:
        stmt = stmt.where(VoiceCall.queue_id == queue_id)
    tally = Tally()
    other = waiting = 0
    for queued_at, answered_at, ended_at, reason in (await session.execute(stmt)).all():
        assert queued_at is not None  # the query asks for queued calls
        day = queued_at.date()
        if answered_at is not None:
            tally.add(
                Outcome(day, True, (answered_at - queued_at).total_seconds()), short_s, threshold_s
            )
        elif reason == EndReason.abandoned.value and ended_at is not None:
            tally.add(
                Outcome(day, False, (ended_at - queued_at).total_seconds()), short_s, threshold_s
            )
        elif ended_at is None:
            waiting += 1
        else:
            other += 1
    return {**tally.figures(), "left_otherwise": other, "waiting": waiting}
