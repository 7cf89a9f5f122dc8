"""What a warning or a breach does: a timeline event, and the policy's chosen actions.

Actions: ``notify`` (a live ``sla.warning`` / ``sla.breached`` to supervisors of the
queue and admins), ``tag`` (adds the policy's tag) and ``webhook`` (the domain
event of the same name, which the outgoing-webhooks domain delivers signed).
Everything here runs inside the firing job's transaction; pushes go after commit.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.auth.models import Role
from omniline.conversations import notify
from omniline.conversations.models import Conversation, ConversationEvent, ConversationTag
from omniline.conversations.repository import rows_by_ids
from omniline.kit import hooks
from omniline.kit.clock import iso
from omniline.realtime.events import Audience, RealtimeEvent
from omniline.realtime.service import publish_on_commit
from omniline.sla.models import SlaPolicy, SlaTimer

ACTIONS = ("notify", "tag", "webhook")
DEFAULT_TAGS = {"warning": "sla-warning", "breached": "sla-breached"}
SUPERVISORS = [Role.supervisor.value, Role.admin.value]


def payload(conv: Conversation, policy: SlaPolicy, timer: SlaTimer) -> dict[str, Any]:
    return {
        "conversation_id": conv.id,
        "queue_id": conv.queue_id,
        "assignee_id": conv.assignee_id,
        "contact_id": conv.contact_id,
        "policy_id": policy.id,
        "policy_name": policy.name,
        "target": timer.target,
        "started_at": iso(timer.started_at),
        "due_at": iso(timer.due_at),
        "warn_at": iso(timer.warn_at),
        "warned_at": iso(timer.warned_at),
        "breached_at": iso(timer.breached_at),
    }


async def fire(
    session: AsyncSession, conv: Conversation, policy: SlaPolicy, timer: SlaTimer, kind: str
) -> None:
    """``kind`` is "warning" or "breached"; the caller made sure this runs once."""
    data = payload(conv, policy, timer)
    ev = ConversationEvent(
        workspace_id=conv.workspace_id,
        conversation_id=conv.id,
        type=f"sla_{kind}",
        data={k: data[k] for k in ("target", "due_at", "policy_id", "policy_name")},
    )
    session.add(ev)
    await session.flush()
    notify.timeline_event(session, conv, ev)
    chosen = set(policy.breach_actions if kind == "breached" else policy.warning_actions)
    if "tag" in chosen:
        tag = (policy.breach_tag if kind == "breached" else policy.warning_tag) or DEFAULT_TAGS[
            kind
        ]
        await add_tag(session, conv, tag)
    if "notify" in chosen:
        publish_on_commit(
            session,
            RealtimeEvent(
                type=f"sla.{kind}",
                data=data,
                audience=Audience(
                    workspace_id=conv.workspace_id, queue_id=conv.queue_id, roles=SUPERVISORS
                ),
            ),
        )
    if "webhook" in chosen:
        event_type = "sla.breached" if kind == "breached" else "sla.warning"
        await hooks.emit(session, hooks.DomainEvent(event_type, conv.workspace_id, data))


async def add_tag(session: AsyncSession, conv: Conversation, tag: str) -> None:
    tag = tag.strip().lower()[:64]
    current = list(conv.tags or [])
    if tag in current:
        return
    conv.tags = sorted({*current, tag})
    exists = await session.scalar(
        select(ConversationTag.tag).where(
            ConversationTag.conversation_id == conv.id, ConversationTag.tag == tag
        )
    )
    if exists is None:
        session.add(
            ConversationTag(conversation_id=conv.id, tag=tag, workspace_id=conv.workspace_id)
        )
    ev = ConversationEvent(
        workspace_id=conv.workspace_id,
        conversation_id=conv.id,
        type="tags_changed",
        data={"before": current, "after": conv.tags},
    )
    session.add(ev)
    await session.flush()
    notify.timeline_event(session, conv, ev)


async def publish_summaries(
    session: AsyncSession, convs: list[tuple[Conversation, dict[str, Any] | None]]
) -> None:
    """A ``conversation.updated`` that carries the SLA countdown (lists keep it), for each
    conversation with its countdown; their summaries are read in one query."""
    rows = {r.conv.id: r for r in await rows_by_ids(session, [c.id for c, _ in convs])}
    for conv, sla in convs:
        row = rows.get(conv.id)
        if row is None:
            continue
        data = notify.summary_of(row)
        locked = notify.summary_of(row, locked=True)
        data["sla"] = sla
        data["sla_due_at"] = sla["due_at"] if sla else None
        publish_on_commit(
            session,
            RealtimeEvent(
                type="conversation.updated",
                data=data,
                audience=Audience(
                    workspace_id=conv.workspace_id,
                    queue_id=conv.queue_id,
                    assignee_id=conv.assignee_id,
                    locked_data=locked,
                ),
            ),
        )
