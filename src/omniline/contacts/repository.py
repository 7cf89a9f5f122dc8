from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.contacts.models import Contact, ContactEvent, ContactIdentity


async def get(session: AsyncSession, workspace_id: int, contact_id: int) -> Contact | None:
    return await session.scalar(
        select(Contact).where(Contact.id == contact_id, Contact.workspace_id == workspace_id)
    )


async def by_external_id(
    session: AsyncSession, workspace_id: int, external_id: str
) -> Contact | None:
    return await session.scalar(
        select(Contact).where(
            Contact.workspace_id == workspace_id, Contact.external_id == external_id
        )
    )


async def by_identity(
    session: AsyncSession, workspace_id: int, channel: str, address: str
) -> Contact | None:
    return await session.scalar(
        select(Contact)
        .join(ContactIdentity, ContactIdentity.contact_id == Contact.id)
        .where(
            ContactIdentity.workspace_id == workspace_id,
            ContactIdentity.channel == channel,
            ContactIdentity.address == address,
        )
    )


async def by_identities(
    session: AsyncSession, workspace_id: int, channel: str, addresses: list[str]
) -> dict[str, Contact]:
    """The contacts of many addresses in one channel, with one query."""
    if not addresses:
        return {}
    rows = await session.execute(
        select(ContactIdentity.address, Contact)
        .join(Contact, ContactIdentity.contact_id == Contact.id)
        .where(
            ContactIdentity.workspace_id == workspace_id,
            ContactIdentity.channel == channel,
            ContactIdentity.address.in_(addresses),
        )
    )
    return {address: contact for address, contact in rows}


async def identities(session: AsyncSession, contact_id: int) -> list[ContactIdentity]:
    return list(
        await session.scalars(
            select(ContactIdentity)
            .where(ContactIdentity.contact_id == contact_id)
            .order_by(ContactIdentity.id)
        )
    )


async def events(session: AsyncSession, contact_id: int) -> list[ContactEvent]:
    return list(
        await session.scalars(
            select(ContactEvent)
            .where(ContactEvent.contact_id == contact_id)
            .order_by(ContactEvent.occurred_at.desc())
            .limit(200)
        )
    )


async def names(session: AsyncSession, contact_ids: list[int]) -> dict[int, str]:
    if not contact_ids:
        return {}
    rows = await session.execute(
        select(Contact.id, Contact.name).where(Contact.id.in_(contact_ids))
    )
    return {cid: name for cid, name in rows.all() if name}


async def get_for_update(
    session: AsyncSession, workspace_id: int, contact_ids: list[int]
) -> dict[int, Contact]:
    """Contacts locked for a change (PostgreSQL row locks, in id order: no deadlock)."""
    stmt = (
        select(Contact)
        .where(Contact.workspace_id == workspace_id, Contact.id.in_(contact_ids))
        .order_by(Contact.id)
    )
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    return {c.id: c for c in await session.scalars(stmt)}


async def same_reachability(
    session: AsyncSession,
    workspace_id: int,
    contact_id: int,
    phones: list[str],
    email: str | None,
    limit: int = 20,
) -> list[Contact]:
    """Other contacts of the workspace with one of ``phones`` or the ``email`` (exact forms)."""
    clauses: list[ColumnElement[bool]] = []
    if phones:
        clauses.append(Contact.phone.in_(phones))
    if email:
        clauses.append(Contact.email == email)
    if not clauses:
        return []
    stmt = (
        select(Contact)
        .where(Contact.workspace_id == workspace_id, Contact.id != contact_id, or_(*clauses))
        .order_by(Contact.id)
        .limit(limit)
    )
    return list(await session.scalars(stmt))


async def identities_of(
    session: AsyncSession, contact_ids: list[int]
) -> dict[int, list[ContactIdentity]]:
    out: dict[int, list[ContactIdentity]] = {cid: [] for cid in contact_ids}
    if not contact_ids:
        return out
    rows = await session.scalars(
        select(ContactIdentity)
        .where(ContactIdentity.contact_id.in_(contact_ids))
        .order_by(ContactIdentity.id)
    )
    for ident in rows:
        out[ident.contact_id].append(ident)
    return out


async def live_until_of(session: AsyncSession, contact_id: int) -> datetime | None:
    """The latest moment a widget or app socket vouched the customer is connected (or None)."""
    return await session.scalar(
        select(func.max(ContactIdentity.live_until)).where(ContactIdentity.contact_id == contact_id)
    )


async def set_live_until(
    session: AsyncSession, contact_ids: list[int], until: datetime, channel: str
) -> set[int]:
    """One UPDATE for the identities of ``channel`` of these contacts; answers who had one."""
    if not contact_ids:
        return set()
    stmt = (
        update(ContactIdentity)
        .where(ContactIdentity.contact_id.in_(contact_ids), ContactIdentity.channel == channel)
        .values(live_until=until)
        .returning(ContactIdentity.contact_id)
        .execution_options(synchronize_session=False)
    )
    return set(await session.scalars(stmt))


async def existing_ids(session: AsyncSession, contact_ids: list[int]) -> set[int]:
    if not contact_ids:
        return set()
    return set(await session.scalars(select(Contact.id).where(Contact.id.in_(contact_ids))))


async def clear_live_until(
    session: AsyncSession, contact_id: int, channel: str, written: datetime, now: datetime
) -> None:
    """The visitor left: ``live_until = now`` unless someone pushed it past ``written``."""
    await session.execute(
        update(ContactIdentity)
        .where(
            ContactIdentity.contact_id == contact_id,
            ContactIdentity.channel == channel,
            ContactIdentity.live_until <= written,
        )
        .values(live_until=now)
        .execution_options(synchronize_session=False)
    )
