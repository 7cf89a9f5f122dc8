"""Contacts: finding customers by their channel identities, CRM attributes and events."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.auth import access
from omniline.auth.principal import Principal
from omniline.contacts import repository
from omniline.contacts.models import Contact, ContactEvent, ContactIdentity
from omniline.contacts.phones import normalize_phone
from omniline.errors import Invalid, NotFound
from omniline.kit.clock import iso, utcnow

# A merged-away contact's id stays findable (its widget session tokens still carry it):
# an identity of this pseudo-channel on the kept contact, address = the old id.
MERGED_CHANNEL = "merged"


async def find_or_create_by_address(
    session: AsyncSession,
    workspace_id: int,
    channel: str,
    address: str,
    name: str | None,
    *,
    phone: str | None = None,
) -> Contact:
    """The contact of a channel address, made on first contact (with ``phone``, when given,
    in the same insert)."""
    address = address.strip()
    if not address:
        raise Invalid("sender", "the channel gave no sender address")
    found = await repository.by_identity(session, workspace_id, channel, address)
    if found is not None:
        return found
    contact = Contact(
        workspace_id=workspace_id, name=(name or "").strip()[:200], attributes={}, phone=phone
    )
    session.add(contact)
    await session.flush()
    session.add(
        ContactIdentity(
            workspace_id=workspace_id, contact_id=contact.id, channel=channel, address=address
        )
    )
    await session.flush()
    return contact


async def find_or_create_many(
    session: AsyncSession,
    workspace_id: int,
    channel: str,
    senders: dict[str, str | None],
    owners: dict[str, int] | None = None,
) -> dict[str, Contact]:
    """Contacts for many sender addresses of one channel (address -> name) in a few queries:
    one lookup, then one flush for all new contacts and one for their identities.

    ``owners`` names the contact a new address belongs to (the customer of the conversation
    an email reply threads into): the address becomes that contact's identity instead of a
    new contact."""
    clean = {a.strip(): n for a, n in senders.items() if a.strip()}
    if len(clean) != len(senders):
        raise Invalid("sender", "the channel gave no sender address")
    found = await repository.by_identities(session, workspace_id, channel, sorted(clean))
    missing = [a for a in sorted(clean) if a not in found]
    for address in [a for a in missing if a in (owners or {})]:
        owner = await repository.get(session, workspace_id, (owners or {})[address])
        if owner is not None:
            session.add(
                ContactIdentity(
                    workspace_id=workspace_id, contact_id=owner.id, channel=channel, address=address
                )
            )
            found[address] = owner
            missing.remove(address)
    if not missing:
        await session.flush()
        return found
    await session.flush()
    # INSERT .. RETURNING and a plain INSERT rather than the unit of work: a burst of first
    # contacts writes a hundred of each per batch, and the flush's bookkeeping per object
    # was most of the CPU of a new contact.
    made = await _insert_contacts(
        session,
        [
            {"workspace_id": workspace_id, "name": (clean[a] or "").strip()[:200], "attributes": {}}
            for a in missing
        ],
    )
    new = dict(zip(missing, made, strict=True))
    conn = await session.connection()
    await conn.execute(
        insert(ContactIdentity),
        [
            {"workspace_id": workspace_id, "contact_id": c.id, "channel": channel, "address": a}
            for a, c in new.items()
        ],
    )
    return {**found, **new}


async def _insert_contacts(session: AsyncSession, rows: list[dict[str, Any]]) -> list[Contact]:
    """New contacts in one INSERT .. RETURNING, in ``rows`` order (see receive._insert_messages:
    SQLite hands out increasing ids in VALUES order; PostgreSQL keeps parameter order)."""
    sqlite = session.get_bind().dialect.name == "sqlite"
    stmt = insert(Contact).returning(Contact, sort_by_parameter_order=not sqlite)
    made = list(await session.scalars(stmt, rows))
    if sqlite:
        made.sort(key=lambda c: c.id)
    return made


async def link_phone(session: AsyncSession, contact: Contact, raw: str | None) -> None:
    """A phone the customer shared (a Telegram contact) becomes their identity in the "phone"
    channel, so calls and WhatsApp from that number find them; a number another contact
    already holds stays there (the agent sees both under "Possibly the same person")."""
    phone = normalize_phone(raw)
    if phone is None:
        return
    if await repository.by_identity(session, contact.workspace_id, "phone", phone) is None:
        session.add(
            ContactIdentity(
                workspace_id=contact.workspace_id,
                contact_id=contact.id,
                channel="phone",
                address=phone,
            )
        )
        await session.flush()


def fill_reachability(contact: Contact, *, phone: str | None, email: str | None) -> None:
    """What a channel learned (a shared phone, a From address) fills empty fields only."""
    if phone and not contact.phone:
        contact.phone = normalize_phone(phone)
    if email and not contact.email and "@" in email:
        contact.email = email.strip().lower()[:320]


async def do_create_anonymous_visitor(
    session: AsyncSession, workspace_id: int, channel: str, language: str | None
) -> Contact:
    contact = await find_or_create_by_address(
        session, workspace_id, channel, f"anon:{uuid.uuid4().hex}", None
    )
    contact.language = language
    return contact


async def do_upsert_verified(
    session: AsyncSession,
    workspace_id: int,
    channel: str,
    *,
    external_id: str,
    name: str | None,
    email: str | None,
    phone: str | None,
    language: str | None,
) -> Contact:
    """A customer the lender's site vouched for: matched by CRM id, marked verified."""
    contact = await repository.by_external_id(session, workspace_id, external_id)
    if contact is None:
        contact = Contact(workspace_id=workspace_id, external_id=external_id, attributes={})
        session.add(contact)
    contact.verified = True
    if name:
        contact.name = name.strip()[:200]
    if email:
        contact.email = email.strip().lower()[:320]
    if phone:
        contact.phone = normalize_phone(phone) or phone.strip()[:32]
    if language and not contact.language:
        contact.language = language
    await session.flush()
    address = f"ext:{external_id}"
    if await repository.by_identity(session, workspace_id, channel, address) is None:
        session.add(
            ContactIdentity(
                workspace_id=workspace_id, contact_id=contact.id, channel=channel, address=address
            )
        )
        await session.flush()
    return contact


async def do_add_event(
    session: AsyncSession,
    workspace_id: int,
    contact_id: int,
    name: str,
    data: dict[str, Any],
    occurred_at: datetime | None = None,
) -> ContactEvent:
    if not name.strip():
        raise Invalid("name", "must not be empty")
    if await repository.get(session, workspace_id, contact_id) is None:
        raise NotFound("no such contact")
    ev = ContactEvent(
        workspace_id=workspace_id,
        contact_id=contact_id,
        name=name.strip()[:100],
        data=data,
        occurred_at=occurred_at or utcnow(),
    )
    session.add(ev)
    await session.flush()
    return ev


async def do_merge(session: AsyncSession, p: Principal, keep_id: int, other_id: int) -> Contact:
    """Everything of ``other_id`` moves into ``keep_id``; see contacts/merge.py."""
    from omniline.contacts import merge

    return await merge.do_merge(session, p, keep_id, other_id)


async def do_join_signed_in_visitor(session: AsyncSession, keep: Contact, other_id: int) -> None:
    """An anonymous visitor's chats join the verified customer they signed in as."""
    from omniline.contacts import merge

    await merge.do_join_signed_in_visitor(session, keep, other_id)


async def merged_into(session: AsyncSession, workspace_id: int, old_id: int) -> Contact | None:
    """The contact that absorbed the deleted contact ``old_id`` (old session tokens carry it)."""
    return await repository.by_identity(session, workspace_id, MERGED_CHANNEL, str(old_id))


async def contact_view(session: AsyncSession, p: Principal, contact_id: int) -> dict[str, Any]:
    from omniline.conversations import repository as conversations

    contact = await repository.get(session, p.workspace_id, contact_id)
    if contact is None:
        raise NotFound("no such contact")
    rows = await conversations.conversations_of_contact(session, p.workspace_id, contact.id)
    visible = [access.can_see(p, r.conv.queue_id, r.conv.assignee_id) for r in rows]
    if not access.can_see_contact(p, [(r.conv.queue_id, r.conv.assignee_id) for r in rows]):
        # Contacts are reached through conversations; no visible one means no access.
        raise NotFound("no such contact")
    from omniline.audit import service as audit

    await audit.record_contact_view(session, p, contact.id, contact.name)
    idents = [
        i for i in await repository.identities(session, contact.id) if i.channel != MERGED_CHANNEL
    ]
    evs = await repository.events(session, contact.id)
    return {
        "id": contact.id,
        "name": contact.name or f"Visitor #{contact.id}",
        "email": contact.email,
        "phone": contact.phone,
        "language": contact.language,
        "country": contact.country,
        "timezone": contact.timezone,
        "external_id": contact.external_id,
        "verified": contact.verified,
        "attributes": contact.attributes or {},
        "identities": [{"channel": i.channel, "address": i.address} for i in idents],
        "events": [
            {"name": e.name, "data": e.data, "occurred_at": iso(e.occurred_at)} for e in evs
        ],
        "conversations": [
            {
                "id": r.conv.id,
                "status": r.conv.status,
                "locked": not vis,
                "inbox": {"id": r.conv.inbox_id, "name": r.inbox_name, "channel": r.conv.channel},
                "created_at": iso(r.conv.created_at),
                "last_activity_at": iso(r.conv.last_activity_at),
            }
            for r, vis in zip(rows, visible, strict=True)
        ],
    }
