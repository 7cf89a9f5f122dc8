"""Queries of routing rules; every one filters by workspace."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

from sqlalchemy import BindParameter, Select, bindparam, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.contacts.models import Contact, ContactEvent
from omniline.routing.models import RoutingRule, RoutingVersion


async def rules(session: AsyncSession, workspace_id: int) -> list[RoutingRule]:
    """All rules in evaluation order (higher priority first, then position)."""
    return list(
        await session.scalars(
            select(RoutingRule)
            .where(RoutingRule.workspace_id == workspace_id)
            .order_by(RoutingRule.priority.desc(), RoutingRule.position, RoutingRule.id)
        )
    )


async def get(session: AsyncSession, workspace_id: int, rule_id: int) -> RoutingRule | None:
    return await session.scalar(
        select(RoutingRule).where(
            RoutingRule.id == rule_id, RoutingRule.workspace_id == workspace_id
        )
    )


async def id_by_name(session: AsyncSession, workspace_id: int, name: str) -> int | None:
    return await session.scalar(
        select(RoutingRule.id).where(
            RoutingRule.workspace_id == workspace_id, RoutingRule.name == name
        )
    )


async def next_position(session: AsyncSession, workspace_id: int) -> int:
    top = await session.scalar(
        select(func.max(RoutingRule.position)).where(RoutingRule.workspace_id == workspace_id)
    )
    return 0 if top is None else int(top) + 1


async def version(session: AsyncSession, workspace_id: int) -> int:
    """The workspace's rule version; 0 when its rules never changed."""
    v = await session.scalar(
        select(RoutingVersion.version).where(RoutingVersion.workspace_id == workspace_id)
    )
    return int(v or 0)


async def bump_version(session: AsyncSession, workspace_id: int) -> int:
    """Give the rules a new version in the caller's transaction.

    A random number rather than +1: a rolled-back change may have cached its rules
    under its version, and a later committed change must never reuse that number.
    """
    new = secrets.randbits(62) + 1
    dialect = session.get_bind().dialect.name
    make: Any = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = make(RoutingVersion).values(workspace_id=workspace_id, version=new)
    stmt = stmt.on_conflict_do_update(index_elements=["workspace_id"], set_={"version": new})
    await session.execute(stmt)
    return new


async def latest_events(
    session: AsyncSession, contact_id: int, names: frozenset[str]
) -> dict[str, datetime]:
    """The latest time of each named event of the contact (only names rules ask about)."""
    if not names:
        return {}
    rows = await session.execute(
        select(ContactEvent.name, func.max(ContactEvent.occurred_at))
        .where(ContactEvent.contact_id == contact_id, ContactEvent.name.in_(sorted(names)))
        .group_by(ContactEvent.name)
    )
    out: dict[str, datetime] = {}
    for name, at in rows.all():
        if at is not None:
            out[name] = _aware(at)
    return out


def _aware(at: Any) -> datetime:
    """func.max() may bypass the column type: SQLite answers a naive string or datetime."""
    if isinstance(at, str):
        at = datetime.fromisoformat(at)
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


MAX_EVENT_COLUMNS = 16


@dataclass(slots=True)
class Facts:
    """What routing reads per conversation, in one round trip (see ``routing_facts``)."""

    version: int
    contact_found: bool
    attributes: dict[str, Any]
    language: str | None
    country: str | None
    events: dict[str, datetime] | None  # None: more event names than one query carries


@cache
def _facts_statement(n_events: int) -> Select[Any]:
    """Built once per number of event columns: building it costs more than running it."""
    ws: BindParameter[int] = bindparam("ws")
    cid: BindParameter[int] = bindparam("cid")
    # By primary key only (the workspace is compared in Python): a planner with stale
    # statistics may otherwise walk a workspace index through every contact.
    contact = Contact.id == cid
    cols: list[Any] = [
        select(RoutingVersion.version).where(RoutingVersion.workspace_id == ws).scalar_subquery(),
        select(Contact.workspace_id).where(contact).scalar_subquery(),
        select(Contact.attributes).where(contact).scalar_subquery(),
        select(Contact.language).where(contact).scalar_subquery(),
        select(Contact.country).where(contact).scalar_subquery(),
    ]
    cols += [
        select(func.max(ContactEvent.occurred_at))
        .where(ContactEvent.contact_id == cid, ContactEvent.name == bindparam(f"ev{i}"))
        .scalar_subquery()
        for i in range(n_events)
    ]
    return select(*cols)


async def routing_facts(
    session: AsyncSession, workspace_id: int, contact_id: int, event_names: frozenset[str]
) -> Facts:
    """The rule version, the contact's facts and the latest time of each named event.

    One SELECT of scalar subqueries: on SQLite every statement is a thread round trip,
    and routing runs on the hot path of every new conversation.
    """
    names = sorted(event_names) if len(event_names) <= MAX_EVENT_COLUMNS else []
    params: dict[str, Any] = {"ws": workspace_id, "cid": contact_id}
    params.update({f"ev{i}": name for i, name in enumerate(names)})
    conn = await session.connection()  # Core path: no ORM compile state for a plain read
    row = (await conn.execute(_facts_statement(len(names)), params)).one()
    events = None
    if len(event_names) <= MAX_EVENT_COLUMNS:
        events = {n: _aware(at) for n, at in zip(names, row[5:], strict=True) if at is not None}
    if row[1] != workspace_id:  # no such contact here: route on the conversation alone
        return Facts(int(row[0] or 0), False, {}, None, None, {} if events is not None else None)
    return Facts(
        version=int(row[0] or 0),
        contact_found=True,
        attributes=dict(row[2] or {}),
        language=row[3],
        country=row[4],
        events=events,
    )


@cache
def _facts_many_statement(n_events: int) -> Select[Any]:
    """:func:`_facts_statement` for the contacts of ``cids`` (an expanding parameter)."""
    cids: BindParameter[list[int]] = bindparam("cids", expanding=True)
    cols: list[Any] = [
        select(RoutingVersion.version)
        .where(RoutingVersion.workspace_id == bindparam("ws"))
        .scalar_subquery(),
        Contact.id,
        Contact.workspace_id,
        Contact.attributes,
        Contact.language,
        Contact.country,
    ]
    cols += [
        select(func.max(ContactEvent.occurred_at))
        .where(ContactEvent.contact_id == Contact.id, ContactEvent.name == bindparam(f"ev{i}"))
        .scalar_subquery()
        for i in range(n_events)
    ]
    return select(*cols).where(Contact.id.in_(cids))


async def routing_facts_many(
    session: AsyncSession, workspace_id: int, contact_ids: list[int], event_names: frozenset[str]
) -> dict[int, Facts]:
    """:func:`routing_facts` of several contacts in one SELECT, by contact id.

    A contact that is not in the workspace gets the facts of none (routing on the
    conversation alone); with no contact found at all, the version is read on its own.
    """
    names = sorted(event_names) if len(event_names) <= MAX_EVENT_COLUMNS else []
    params: dict[str, Any] = {"ws": workspace_id, "cids": sorted(set(contact_ids))}
    params.update({f"ev{i}": name for i, name in enumerate(names)})
    conn = await session.connection()
    rows = (await conn.execute(_facts_many_statement(len(names)), params)).all()
    rule_version = int(rows[0][0] or 0) if rows else await version(session, workspace_id)
    fits = len(event_names) <= MAX_EVENT_COLUMNS
    out = {
        cid: Facts(rule_version, False, {}, None, None, {} if fits else None) for cid in contact_ids
    }
    for row in rows:
        if row[2] != workspace_id:
            continue
        events = None
        if fits:
            events = {n: _aware(at) for n, at in zip(names, row[6:], strict=True) if at is not None}
        out[row[1]] = Facts(rule_version, True, dict(row[3] or {}), row[4], row[5], events)
    return out


async def find_contact(session: AsyncSession, workspace_id: int, query: str) -> Contact | None:
    """A contact by id, external id or email (case-insensitive), in that order."""
    q = query.strip()
    if not q:
        return None
    if q.isdigit():
        found = await session.scalar(
            select(Contact).where(Contact.workspace_id == workspace_id, Contact.id == int(q))
        )
        if found is not None:
            return found
    found = await session.scalar(
        select(Contact).where(Contact.workspace_id == workspace_id, Contact.external_id == q)
    )
    if found is not None:
        return found
    return await session.scalar(
        select(Contact)
        .where(Contact.workspace_id == workspace_id, func.lower(Contact.email) == q.lower())
        .order_by(Contact.id)
        .limit(1)
    )
