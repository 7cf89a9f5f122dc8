"""Queries for conversations. Every query is filtered by workspace."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.auth.models import User
from omniline.contacts.models import Contact
from omniline.conversations.models import (
    OPEN_STATUSES,
    Attachment,
    Conversation,
    ConversationEvent,
    ConversationTag,
    Message,
)
from omniline.inboxes.models import Inbox
from omniline.sla.models import SlaDue
from omniline.workspaces.models import Queue

AnySelect = Select[*tuple[Any, ...]]


@dataclass(slots=True)
class Filters:
    status: str | None = None
    queue_id: int | None = None
    inbox_id: int | None = None
    channel: str | None = None
    assignee_id: int | None = None
    unassigned: bool = False
    tag: str | None = None


@dataclass(slots=True)
class Row:
    conv: Conversation
    queue_name: str | None
    inbox_name: str
    assignee_name: str | None
    contact_name: str | None
    # The SLA "due first" row (list pages only; sla.models.SlaDue).
    sla_due: SlaDue | None = None


def _summary_select() -> AnySelect:
    return (
        select(Conversation, Queue.name, Inbox.name, User.name, Contact.name)
        .join(Inbox, Inbox.id == Conversation.inbox_id)
        .join(Contact, Contact.id == Conversation.contact_id)
        .outerjoin(Queue, Queue.id == Conversation.queue_id)
        .outerjoin(User, User.id == Conversation.assignee_id)
    )


def _rows(result: Any) -> list[Row]:
    return [Row(c, q, i, a, n) for c, q, i, a, n in result]


def _page_select() -> AnySelect:
    return (
        _summary_select()
        .add_columns(SlaDue)
        .outerjoin(SlaDue, SlaDue.conversation_id == Conversation.id)
    )


def _page_rows(result: Any) -> list[Row]:
    return [Row(c, q, i, a, n, d) for c, q, i, a, n, d in result]


async def rows_by_ids(session: AsyncSession, ids: list[int]) -> list[Row]:
    if not ids:
        return []
    return _rows(await session.execute(_summary_select().where(Conversation.id.in_(ids))))


def _apply(
    stmt: AnySelect, workspace_id: int, f: Filters, *, with_status: bool, tag_join: bool = False
) -> AnySelect:
    """The filters' WHERE. ``tag_join``: a tag filter as a join from the tag index.

    A conversation has a tag once (the key of ``conversation_tags``), so the join adds
    no rows; it lets a count start from the tag's rows instead of every conversation.
    """
    stmt = stmt.where(Conversation.workspace_id == workspace_id)
    if with_status and f.status:
        if f.status == "open":
            stmt = stmt.where(Conversation.status.in_([s.value for s in OPEN_STATUSES]))
        else:
            stmt = stmt.where(Conversation.status == f.status)
    if f.queue_id is not None:
        stmt = stmt.where(Conversation.queue_id == f.queue_id)
    if f.inbox_id is not None:
        stmt = stmt.where(Conversation.inbox_id == f.inbox_id)
    if f.channel:
        stmt = stmt.where(Conversation.channel == f.channel)
    if f.unassigned:
        stmt = stmt.where(Conversation.assignee_id.is_(None))
    elif f.assignee_id is not None:
        stmt = stmt.where(Conversation.assignee_id == f.assignee_id)
    if f.tag and tag_join:
        stmt = stmt.join(
            ConversationTag,
            (ConversationTag.conversation_id == Conversation.id)
            & (ConversationTag.workspace_id == workspace_id)
            & (ConversationTag.tag == f.tag),
        )
    elif f.tag:
        tagged = select(ConversationTag.conversation_id).where(
            ConversationTag.workspace_id == workspace_id, ConversationTag.tag == f.tag
        )
        stmt = stmt.where(Conversation.id.in_(tagged))
    return stmt


async def page(
    session: AsyncSession,
    workspace_id: int,
    f: Filters,
    *,
    after: tuple[datetime, int] | None,
    limit: int,
) -> list[Row]:
    stmt = _apply(_page_select(), workspace_id, f, with_status=True)
    if after is not None:
        at, row_id = after
        stmt = stmt.where(
            or_(
                Conversation.last_activity_at < at,
                and_(Conversation.last_activity_at == at, Conversation.id < row_id),
            )
        )
    stmt = stmt.order_by(Conversation.last_activity_at.desc(), Conversation.id.desc()).limit(limit)
    return _page_rows(await session.execute(stmt))


# Conversations without an SLA clock sort after every due one.
NO_DUE = datetime(9999, 12, 31, tzinfo=UTC)


async def page_by_due(
    session: AsyncSession,
    workspace_id: int,
    f: Filters,
    *,
    after: tuple[datetime, int] | None,
    limit: int,
) -> list[Row]:
    """Like :func:`page`, ordered by SLA due time (soonest and breached first), then id.

    Two index-ordered reads instead of one sort of every matching row: the
    conversations with a due time (``ix_sla_due_ws_due``), then, when the page is not
    full, those without one by id (their key is :data:`NO_DUE`).
    """
    at, row_id = after if after is not None else (None, 0)
    rows: list[Row] = []
    if at is None or at < NO_DUE:
        due = _apply(
            _summary_select()
            .add_columns(SlaDue)
            .join(SlaDue, SlaDue.conversation_id == Conversation.id)
            .where(SlaDue.workspace_id == workspace_id),
            workspace_id,
            f,
            with_status=True,
        )
        if at is not None:
            due = due.where(
                or_(SlaDue.due_at > at, and_(SlaDue.due_at == at, SlaDue.conversation_id > row_id))
            )
        due = due.order_by(SlaDue.due_at, SlaDue.conversation_id).limit(limit)
        rows = _page_rows(await session.execute(due))
        row_id = 0
    if len(rows) < limit:
        rest = _apply(_page_select(), workspace_id, f, with_status=True).where(
            SlaDue.conversation_id.is_(None), Conversation.id > row_id
        )
        rest = rest.order_by(Conversation.id).limit(limit - len(rows))
        rows += _page_rows(await session.execute(rest))
    return rows


async def counts(session: AsyncSession, workspace_id: int, f: Filters) -> dict[str, int]:
    """Conversations matching ``f`` but its status, by status (the list's tabs)."""
    stmt: AnySelect
    if f.tag and _only_tag(f):
        # The tag rows carry their conversation's status (ConversationTag): one range of
        # ix_conversation_tags_ws_tag_status, not a join with every conversation.
        stmt = (
            select(ConversationTag.status, func.count())
            .where(ConversationTag.workspace_id == workspace_id, ConversationTag.tag == f.tag)
            .group_by(ConversationTag.status)
        )
    else:
        stmt = _apply(
            select(Conversation.status, func.count()).select_from(Conversation),
            workspace_id,
            f,
            with_status=False,
            tag_join=True,
        ).group_by(Conversation.status)
    found = {status: n for status, n in (await session.execute(stmt)).all()}
    out = {s: int(found.get(s, 0)) for s in ("bot", "queued", "assigned", "waiting_customer")}
    out["open"] = sum(out.values())
    out["resolved"] = int(found.get("resolved", 0))
    out["closed"] = int(found.get("closed", 0))
    return out


def _only_tag(f: Filters) -> bool:
    """No filter but the tag (and the status, which counts leave out)."""
    return (
        f.queue_id is None
        and f.inbox_id is None
        and not f.channel
        and not f.unassigned
        and f.assignee_id is None
    )


async def held(session: AsyncSession, conv_id: int) -> Conversation | None:
    """The conversation as this session holds it (no query), else as the database has it.

    For listeners of domain events: the emitter has the conversation in the session,
    and ``session.get`` costs more CPU than the listener's own work.
    """
    key = session.sync_session.identity_key(Conversation, conv_id)
    conv = session.sync_session.identity_map.get(key)
    if isinstance(conv, Conversation):
        return conv
    return await session.get(Conversation, conv_id)


async def get(session: AsyncSession, workspace_id: int, conv_id: int) -> Conversation | None:
    return await session.scalar(
        select(Conversation).where(
            Conversation.id == conv_id, Conversation.workspace_id == workspace_id
        )
    )


async def open_for_contacts(
    session: AsyncSession, pairs: set[tuple[int, int]]
) -> dict[tuple[int, int], Conversation]:
    """The newest open conversation of each (contact, inbox) pair."""
    if not pairs:
        return {}
    contact_ids = sorted({c for c, _ in pairs})
    rows = await session.scalars(
        select(Conversation)
        .where(
            Conversation.contact_id.in_(contact_ids),
            Conversation.status.in_([s.value for s in OPEN_STATUSES]),
        )
        .order_by(Conversation.id)
    )
    found: dict[tuple[int, int], Conversation] = {}
    for conv in rows:
        key = (conv.contact_id, conv.inbox_id)
        if key in pairs:
            found[key] = conv
    return found


async def messages_by_external_id(
    session: AsyncSession, keys: set[tuple[int, str]]
) -> dict[tuple[int, str], Message]:
    if not keys:
        return {}
    inbox_ids = sorted({i for i, _ in keys})
    ext_ids = sorted({e for _, e in keys})
    rows = await session.scalars(
        select(Message).where(Message.inbox_id.in_(inbox_ids), Message.external_id.in_(ext_ids))
    )
    return {
        (m.inbox_id, m.external_id or ""): m for m in rows if (m.inbox_id, m.external_id) in keys
    }


async def messages(
    session: AsyncSession,
    conversation_ids: list[int],
    *,
    after_id: int | None = None,
    include_private: bool = True,
    limit: int = 1000,
) -> list[Message]:
    """Messages in time order, at most ``limit`` of them.

    Without ``after_id``: the newest ones (what a chat shows when it opens; the
    oldest of a very long history are left out). With ``after_id``: the next ones
    after it, oldest first, so a client catching up in steps misses none.
    """
    stmt = select(Message).where(Message.conversation_id.in_(conversation_ids))
    if not include_private:
        stmt = stmt.where(Message.private.is_(False))
    if after_id is not None:
        stmt = stmt.where(Message.id > after_id)
        return list(await session.scalars(stmt.order_by(Message.id).limit(limit)))
    newest = list(await session.scalars(stmt.order_by(Message.id.desc()).limit(limit)))
    newest.reverse()
    return newest


async def attachments_for(
    session: AsyncSession, message_ids: list[int]
) -> dict[int, list[Attachment]]:
    if not message_ids:
        return {}
    out: dict[int, list[Attachment]] = {}
    rows = await session.scalars(
        select(Attachment).where(Attachment.message_id.in_(message_ids)).order_by(Attachment.id)
    )
    for att in rows:
        out.setdefault(att.message_id, []).append(att)
    return out


async def events(session: AsyncSession, conversation_id: int) -> list[ConversationEvent]:
    return list(
        await session.scalars(
            select(ConversationEvent)
            .where(ConversationEvent.conversation_id == conversation_id)
            .order_by(ConversationEvent.id)
        )
    )


async def conversations_of_contact(
    session: AsyncSession, workspace_id: int, contact_id: int, inbox_id: int | None = None
) -> list[Row]:
    stmt = _summary_select().where(
        Conversation.workspace_id == workspace_id, Conversation.contact_id == contact_id
    )
    if inbox_id is not None:
        stmt = stmt.where(Conversation.inbox_id == inbox_id)
    return _rows(await session.execute(stmt.order_by(Conversation.id.desc()).limit(200)))
