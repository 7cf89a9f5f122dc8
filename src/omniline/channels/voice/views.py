"""A call as the workspace shows it."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from omniline.channels.voice.models import VoiceCall
from omniline.contacts.models import Contact


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


async def call_view(session: AsyncSession, call: VoiceCall) -> dict[str, Any]:
    contact = await session.get(Contact, call.contact_id)
    return {
        "id": call.id,
        "inbox_id": call.inbox_id,
        "conversation_id": call.conversation_id,
        "direction": call.direction,
        "state": call.state,
        "caller": call.caller,
        "dialled": call.dialled,
        "queue_id": call.queue_id,
        "agent_id": call.agent_id,
        "language": call.language,
        "arrived_at": _iso(call.arrived_at),
        "queued_at": _iso(call.queued_at),
        "answered_at": _iso(call.answered_at),
        "ended_at": _iso(call.ended_at),
        "acw_until": _iso(call.acw_until),
        "hold_s": round(call.hold_s, 1),
        "end_reason": call.end_reason,
        "hangup_side": call.hangup_side,
        "short_abandon": call.short_abandon,
        "disposition": call.disposition,
        "notes": call.notes,
        "csat": call.csat,
        "recording": call.recording,
        "contact": {
            "id": contact.id,
            "name": contact.name,
            "phone": contact.phone,
            "email": contact.email,
            "external_id": contact.external_id,
            "attributes": dict(contact.attributes or {}),
        }
        if contact is not None
        else None,
    }
