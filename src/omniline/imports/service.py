"""Importing per-call records as historical calls: conversations (channel voice, resolved),
voice calls, contacts, and one ``imported_calls`` row per source call.

``do_prepare`` finds (or creates) what every batch needs once; ``do_import_batch`` inserts a
batch in a few statements and flushes. The caller commits, one transaction per batch, so a
long import keeps what it has done and a second run of the same file adds nothing (the key
of a source call is its call id and day, unique per workspace).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.acd.records import CallRecord
from omniline.auth.models import User
from omniline.channels.voice.models import VoiceCall
from omniline.contacts.models import Contact
from omniline.conversations.models import Conversation, Status
from omniline.errors import Invalid, NotFound
from omniline.imports.call_rows import source_key, times_of
from omniline.imports.models import ImportedCall
from omniline.inboxes import service as inboxes
from omniline.inboxes.models import Inbox
from omniline.workspaces import repository as workspaces

INBOX_NAME = "Imported calls"
# customer_id 0: the caller was not identified. All such calls share one contact.
UNIDENTIFIED = "0"
UNIDENTIFIED_EXTERNAL_ID = "import:unidentified"
BATCH = 2000


@dataclass(slots=True)
class Target:
    workspace_id: int
    inbox_id: int
    tz: ZoneInfo
    users: dict[str, int]  # casefolded name -> user id
    contacts: dict[str, int] = field(default_factory=dict)  # customer id -> contact id


@dataclass(slots=True)
class BatchResult:
    imported: int = 0
    present: int = 0
    conversation_ids: list[int] = field(default_factory=list)


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise Invalid("tz", f"unknown time zone {name!r}") from exc


async def do_prepare(
    session: AsyncSession, slug: str, *, tz: str | None = None, inbox_id: int | None = None
) -> Target:
    """The workspace, the phone inbox the calls go to (an "Imported calls" inbox, created
    disabled so that no PBX link is attempted for it, when none is given) and the staff
    names agents are matched by."""
    ws = await workspaces.by_slug(session, slug)
    if ws is None:
        raise NotFound(f"no workspace with the slug {slug}")
    if inbox_id is not None:
        inbox = await session.scalar(
            select(Inbox).where(Inbox.id == inbox_id, Inbox.workspace_id == ws.id)
        )
        if inbox is None:
            raise NotFound(f"no inbox {inbox_id} in this workspace")
        if inbox.channel != "voice":
            raise Invalid("inbox", "must be a phone (voice) inbox")
    else:
        inbox = await session.scalar(
            select(Inbox)
            .where(Inbox.workspace_id == ws.id, Inbox.channel == "voice", Inbox.name == INBOX_NAME)
            .order_by(Inbox.id)
            .limit(1)
        )
        if inbox is None:
            inbox = await inboxes.do_create_inbox(session, ws.id, channel="voice", name=INBOX_NAME)
            inbox.enabled = False
            await session.flush()
    users: dict[str, int] = {}
    for user_id, name in await session.execute(
        select(User.id, User.name).where(User.workspace_id == ws.id).order_by(User.id)
    ):
        users.setdefault(name.strip().casefold(), user_id)
    return Target(ws.id, inbox.id, zone(tz or ws.timezone), users)


async def _contacts(session: AsyncSession, target: Target, records: Sequence[CallRecord]) -> None:
    new = [r for r in records if r.customer_id not in target.contacts]
    wanted = {_external_id(r.customer_id) for r in new}
    if not wanted:
        return
    found = await session.execute(
        select(Contact.external_id, Contact.id).where(
            Contact.workspace_id == target.workspace_id, Contact.external_id.in_(sorted(wanted))
        )
    )
    by_external = {ext: cid for ext, cid in found.all() if ext is not None}
    missing = sorted(wanted - by_external.keys())
    if missing:
        ids = await session.scalars(
            insert(Contact).returning(Contact.id, sort_by_parameter_order=True),
            [
                {
                    "workspace_id": target.workspace_id,
                    "external_id": ext,
                    "name": "Unidentified caller"
                    if ext == UNIDENTIFIED_EXTERNAL_ID
                    else f"Customer {ext}",
                    "attributes": {"source": "import"},
                }
                for ext in missing
            ],
        )
        by_external.update(zip(missing, ids, strict=True))
    for r in new:
        target.contacts.setdefault(r.customer_id, by_external[_external_id(r.customer_id)])


def _external_id(customer_id: str) -> str:
    return UNIDENTIFIED_EXTERNAL_ID if customer_id in (UNIDENTIFIED, "") else customer_id


async def do_import_batch(
    session: AsyncSession, target: Target, records: Sequence[CallRecord]
) -> BatchResult:
    """Insert the calls of ``records`` not imported before; flushes, never commits."""
    result = BatchResult()
    fresh: dict[str, CallRecord] = {}
    for r in records:
        fresh.setdefault(source_key(r), r)
    result.present = len(records) - len(fresh)
    if fresh:
        present = set(
            await session.scalars(
                select(ImportedCall.source_key).where(
                    ImportedCall.workspace_id == target.workspace_id,
                    ImportedCall.source_key.in_(sorted(fresh)),
                )
            )
        )
        result.present += len(present)
        for key in present:
            del fresh[key]
    if not fresh:
        return result
    rows = list(fresh.values())
    await _contacts(session, target, rows)
    times = [times_of(r, target.tz) for r in rows]
    agents = [
        target.users.get(r.server.strip().casefold()) if r.outcome == "AGENT" else None
        for r in rows
    ]
    conv_rows: list[dict[str, Any]] = [
        {
            "workspace_id": target.workspace_id,
            "inbox_id": target.inbox_id,
            "channel": "voice",
            "contact_id": target.contacts[r.customer_id],
            "assignee_id": agent,
            "status": Status.resolved.value,
            "priority": 1 if r.priority == 2 else 0,
            "topic": r.type or None,
            "created_at": t.arrived_at,
            "last_activity_at": t.ended_at,
            "first_queued_at": t.queued_at,
            "first_assigned_at": t.answered_at,
            "resolved_at": t.ended_at,
        }
        for r, t, agent in zip(rows, times, agents, strict=True)
    ]
    conv_ids = list(
        await session.scalars(
            insert(Conversation).returning(Conversation.id, sort_by_parameter_order=True),
            conv_rows,
        )
    )
    call_rows: list[dict[str, Any]] = [
        {
            "workspace_id": target.workspace_id,
            "inbox_id": target.inbox_id,
            "conversation_id": conv_id,
            "contact_id": target.contacts[r.customer_id],
            "ref": f"import:{source_key(r)}",
            "direction": "in",
            "dialled": r.vru_line,
            "state": "ended",
            "agent_id": agent,
            "priority": r.priority,
            "created_at": t.arrived_at,
            "arrived_at": t.arrived_at,
            "queued_at": t.queued_at,
            "answered_at": t.answered_at,
            "ended_at": t.ended_at,
            "end_reason": t.end_reason,
            "short_abandon": t.short_abandon,
        }
        for r, t, agent, conv_id in zip(rows, times, agents, conv_ids, strict=True)
    ]
    call_ids = list(
        await session.scalars(
            insert(VoiceCall).returning(VoiceCall.id, sort_by_parameter_order=True), call_rows
        )
    )
    await session.execute(
        insert(ImportedCall),
        [
            {
                "workspace_id": target.workspace_id,
                "voice_call_id": call_id,
                "source_key": source_key(r),
                "vru_line": r.vru_line[:32],
                "customer_id": r.customer_id[:32],
                "call_type": r.type[:8],
                "agent_name": r.server[:64],
                "outcome": r.outcome,
            }
            for r, call_id in zip(rows, call_ids, strict=True)
        ],
    )
    await session.flush()
    result.imported = len(rows)
    result.conversation_ids = conv_ids
    return result


async def do_refresh_statistics(session: AsyncSession) -> None:
    """PostgreSQL plans the "already imported?" lookup from table statistics: on a table that
    was empty when last analysed it scans every row for each batch (a second import of a
    month took 56 s instead of 1.6 s). Analysed after the first batch and at the end."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("ANALYZE imported_calls"))
        await session.execute(text("ANALYZE voice_calls"))


async def imported_count(session: AsyncSession, workspace_id: int) -> int:
    return int(
        await session.scalar(
            select(func.count())
            .select_from(ImportedCall)
            .where(ImportedCall.workspace_id == workspace_id)
        )
        or 0
    )
