from __future__ import annotations

from sqlalchemy import select
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
