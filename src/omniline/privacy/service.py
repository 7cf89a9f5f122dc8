"""Retention setting, and a contact's export and erasure (administrators only, audited)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.audit import service as audit
from omniline.auth import access
from omniline.auth.principal import Principal
from omniline.contacts.models import Contact, ContactEvent, ContactIdentity
from omniline.conversations.models import Attachment, Conversation, Message, Status
from omniline.errors import Invalid, NotFound
from omniline.jobs import service as jobs
from omniline.jobs.models import Job, JobState
from omniline.kit.clock import iso, utcnow
from omniline.privacy.anonymise import anonymise_conversations
from omniline.workspaces.models import Workspace

SWEEP = "retention_sweep"
RETENTION_MIN, RETENTION_MAX = 1, 36500
SWEEP_BATCH = 200
ENDED = (Status.resolved.value, Status.closed.value)


async def _contact(session: AsyncSession, p: Principal, contact_id: int) -> Contact:
    access.check_admin(p)
    contact = await session.get(Contact, contact_id)
    if contact is None or contact.workspace_id != p.workspace_id:
        raise NotFound("no such contact")
    return contact


async def do_set_retention(session: AsyncSession, p: Principal, days: int | None) -> Workspace:
    """Keep conversations ``days`` after their last activity, or for ever (None)."""
    access.check_admin(p)
    if days is not None and not RETENTION_MIN <= days <= RETENTION_MAX:
        raise Invalid("retention_days", f"between {RETENTION_MIN} and {RETENTION_MAX} days")
    ws = await session.get(Workspace, p.workspace_id)
    if ws is None:
        raise NotFound("no such workspace")
    before = {"retention_days": ws.retention_days}
    ws.retention_days = days
    await session.flush()
    await audit.record(
        session,
        "workspace.settings_changed",
        actor=p,
        target_type="workspace",
        target_id=ws.id,
        target_label=ws.name,
        before=before,
        after={"retention_days": days},
    )
    if days is not None:
        await ensure_sweep(session, ws.id)
    return ws


async def ensure_sweep(session: AsyncSession, workspace_id: int, delay_s: float = 0) -> None:
    pending = await session.scalar(
        select(Job.id).where(
            Job.kind == SWEEP,
            Job.workspace_id == workspace_id,
            Job.state == JobState.pending.value,
        )
    )
    if pending is None:
        run_at = utcnow() + timedelta(seconds=delay_s)
        await jobs.enqueue(
            session, SWEEP, {"workspace_id": workspace_id}, workspace_id=workspace_id, run_at=run_at
        )


async def retention_of(session: AsyncSession, workspace_id: int) -> int | None:
    return await session.scalar(
        select(Workspace.retention_days).where(Workspace.id == workspace_id)
    )


async def sweep(session: AsyncSession, workspace_id: int) -> tuple[int, bool]:
    """Anonymise one batch of ended conversations past the retention; (done, more left)."""
    ws = await session.get(Workspace, workspace_id)
    if ws is None or ws.retention_days is None:
        return 0, False
    cutoff = utcnow() - timedelta(days=ws.retention_days)
    ids = list(
        await session.scalars(
            select(Conversation.id)
            .where(
                Conversation.workspace_id == workspace_id,
                Conversation.status.in_(ENDED),
                Conversation.anonymised_at.is_(None),
                Conversation.last_activity_at < cutoff,
            )
            .order_by(Conversation.id)
            .limit(SWEEP_BATCH + 1)
        )
    )
    done = await anonymise_conversations(session, ids[:SWEEP_BATCH])
    if done:
        await audit.record(
            session,
            "retention.anonymised",
            workspace_id=workspace_id,
            target_type="workspace",
            target_id=workspace_id,
            data={"conversations": done, "retention_days": ws.retention_days},
        )
    return done, len(ids) > SWEEP_BATCH


async def export_contact(session: AsyncSession, p: Principal, contact_id: int) -> dict[str, Any]:
    """Everything stored about one customer, as JSON (a data subject access request)."""
    c = await _contact(session, p, contact_id)
    idents = await session.scalars(
        select(ContactIdentity).where(ContactIdentity.contact_id == c.id)
    )
    events = await session.scalars(select(ContactEvent).where(ContactEvent.contact_id == c.id))
    convs = list(
        await session.scalars(
            select(Conversation).where(Conversation.contact_id == c.id).order_by(Conversation.id)
        )
    )
    msgs = list(
        await session.scalars(
            select(Message)
            .where(Message.conversation_id.in_([cv.id for cv in convs]), Message.private.is_(False))
            .order_by(Message.id)
        )
    )
    atts = list(
        await session.scalars(
            select(Attachment).where(Attachment.message_id.in_([m.id for m in msgs]))
        )
    )
    files: dict[int, list[dict[str, Any]]] = {}
    for a in atts:
        files.setdefault(a.message_id, []).append(
            {"filename": a.filename, "content_type": a.content_type, "size": a.size}
        )
    by_conv: dict[int, list[dict[str, Any]]] = {}
    for m in msgs:
        by_conv.setdefault(m.conversation_id, []).append(
            {
                "direction": m.direction,
                "author": m.author_type,
                "text": m.text,
                "sent_at": iso(m.created_at),
                "files": files.get(m.id, []),
            }
        )
    await audit.record(
        session,
        "contact.exported",
        actor=p,
        target_type="contact",
        target_id=c.id,
        target_label=c.name,
    )
    return {
        "contact": {
            "id": c.id,
            "name": c.name,
            "email": c.email,
            "phone": c.phone,
            "language": c.language,
            "country": c.country,
            "timezone": c.timezone,
            "external_id": c.external_id,
            "attributes": c.attributes or {},
            "created_at": iso(c.created_at),
        },
        "identities": [{"channel": i.channel, "address": i.address} for i in idents],
        "events": [
            {"name": e.name, "data": e.data, "occurred_at": iso(e.occurred_at)} for e in events
        ],
        "conversations": [
            {
                "id": cv.id,
                "channel": cv.channel,
                "status": cv.status,
                "started_at": iso(cv.created_at),
                "messages": by_conv.get(cv.id, []),
            }
            for cv in convs
        ],
        "exported_at": iso(utcnow()),
    }


async def do_erase_contact(session: AsyncSession, p: Principal, contact_id: int) -> int:
    """Erase a customer: their personal fields, identities, events and the text of every
    conversation. Answers how many conversations were anonymised.

    The contact row stays, empty, so the conversations' counts and timings stay in reports;
    a new message from the same address later starts a new contact.
    """
    c = await _contact(session, p, contact_id)
    label = c.name
    conv_ids = list(
        await session.scalars(select(Conversation.id).where(Conversation.contact_id == c.id))
    )
    done = await anonymise_conversations(session, conv_ids)
    await session.execute(delete(ContactIdentity).where(ContactIdentity.contact_id == c.id))
    await session.execute(delete(ContactEvent).where(ContactEvent.contact_id == c.id))
    c.name, c.email, c.phone, c.external_id = "", None, None, None
    c.language = c.country = c.timezone = None
    c.attributes = {"erased_at": iso(utcnow())}
    await session.flush()
    await audit.record(
        session,
        "contact.erased",
        actor=p,
        target_type="contact",
        target_id=c.id,
        target_label=label,
        data={"conversations": done},
    )
    return done
