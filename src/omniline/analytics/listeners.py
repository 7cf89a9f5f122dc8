"""Facts follow the changes that do not touch a conversation's activity time."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from omniline.analytics import facts
from omniline.kit import hooks

EVENTS = (
    "conversation.resolved",
    "conversation.reopened",
    "conversation.assigned",
    "conversation.unassigned",
    "conversation.queued",
    "conversation.bot_handoff",
    "sla.breached",
)


async def _recompute(session: AsyncSession, events: list[hooks.DomainEvent]) -> None:
    by_ws: dict[int, set[int]] = {}
    for e in events:
        cid = e.data.get("conversation_id")
        if isinstance(cid, int):
            by_ws.setdefault(e.workspace_id, set()).add(cid)
    for ws, ids in by_ws.items():
        await facts.refresh(session, ws, ids)


def register() -> None:
    for kind in EVENTS:
        hooks.on_batch(kind, _recompute)
