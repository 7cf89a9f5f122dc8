"""Merging two contacts who are the same person, and finding the likely candidates.

A customer who writes from Telegram and WhatsApp (the same phone), or by email and in the
widget (the same address), starts as two contacts. An agent merges them: everything of the
other contact (channel identities, conversations, CRM events) moves to the kept one, empty
fields of the kept one are filled, and the other contact is deleted, in one transaction.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.auth import access
from omniline.auth.principal import Principal
from omniline.contacts import repository
from omniline.contacts.models import Contact, ContactEvent, ContactIdentity
from omniline.contacts.phones import normalize_phone
from omniline.contacts.service import MERGED_CHANNEL
from omniline.conversations import notify
from omniline.conversations import repository as conversations
from omniline.conversations.models import (
    OPEN_STATUSES,
    AuthorType,
    Conversation,
    ConversationEvent,
    Message,
)
from omniline.errors import Invalid, NotFound
from omniline.kit.hooks import DomainEvent, emit

FILLED_FIELDS = ("name", "email", "phone", "language", "country", "timezone")
OPEN_VALUES = frozenset(s.value for s in OPEN_STATUSES)


def display_name(contact: Contact) -> str:
    return contact.name or f"Visitor #{contact.id}"


async def _conversation_access(
    session: AsyncSession, contact_ids: list[int]
) -> dict[int, list[Conversation]]:
    out: dict[int, list[Conversation]] = {cid: [] for cid in contact_ids}
    if not contact_ids:
        return out
    rows = await session.scalars(
        select(Conversation)
        .where(Conversation.contact_id.in_(contact_ids))
        .order_by(Conversation.id)
    )
    for conv in rows:
        out[conv.contact_id].append(conv)
    return out


def _visible(p: Principal, convs: list[Conversation]) -> bool:
    return access.can_see_contact(p, [(c.queue_id, c.assignee_id) for c in convs])


def _phone_forms(phone: str | None) -> list[str]:
    """The stored phone and its E.164 form (older rows may hold it as typed)."""
    forms = {p for p in (phone, normalize_phone(phone)) if p}
    return sorted(forms)


async def duplicates(session: AsyncSession, p: Principal, contact_id: int) -> list[dict[str, Any]]:
    """Other contacts the caller may see with the same phone or email address."""
    contact = await repository.get(session, p.workspace_id, contact_id)
    if contact is None:
        raise NotFound("no such contact")
    own = await _conversation_access(session, [contact.id])
    if not _visible(p, own[contact.id]):
        raise NotFound("no such contact")
    email = (contact.email or "").strip().lower() or None
    found = await repository.same_reachability(
        session, p.workspace_id, contact.id, _phone_forms(contact.phone), email
    )
    ids = [c.id for c in found]
    convs = await _conversation_access(session, ids)
    idents = await repository.identities_of(session, ids)
    items = []
    for other in found:
        if not _visible(p, convs[other.id]):
            continue
        channels = {i.channel for i in idents[other.id] if i.channel != MERGED_CHANNEL}
        channels |= {c.channel for c in convs[other.id]}
        same = []
        if email and other.email == email:
            same.append("email")
        if contact.phone and normalize_phone(other.phone) == normalize_phone(contact.phone):
            same.append("phone")
        items.append(
            {
                "id": other.id,
                "name": display_name(other),
                "email": other.email,
                "phone": other.phone,
                "verified": other.verified,
                "channels": sorted(channels),
                "conversations": len(convs[other.id]),
                "same": same,
            }
        )
    return items


def _fill_fields(keep: Contact, other: Contact) -> None:
    for name in FILLED_FIELDS:
        if not getattr(keep, name) and getattr(other, name):
            setattr(keep, name, getattr(other, name))
    keep.verified = keep.verified or other.verified
    keep.attributes = {**(other.attributes or {}), **(keep.attributes or {})}


async def _move_rows(
    session: AsyncSession, keep: Contact, other: Contact, moved: list[Conversation]
) -> None:
    """Identities, conversations, their customer messages and CRM events go to ``keep``."""
    external_id = other.external_id
    if external_id and not keep.external_id:
        # Unique per workspace: free it on the row that goes away first.
        other.external_id = None
        await session.flush()
        keep.external_id = external_id
    for model in (ContactIdentity, ContactEvent):
        await session.execute(
            update(model)
            .where(model.contact_id == other.id)
            .values(contact_id=keep.id)
            .execution_options(synchronize_session=False)
        )
    if moved:
        ids = [c.id for c in moved]
        await session.execute(
            update(Message)
            .where(
                Message.conversation_id.in_(ids),
                Message.author_type == AuthorType.contact.value,
                Message.author_id == other.id,
            )
            .values(author_id=keep.id)
            .execution_options(synchronize_session=False)
        )
        for conv in moved:
            conv.contact_id = keep.id
    session.add(
        ContactIdentity(
            workspace_id=keep.workspace_id,
            contact_id=keep.id,
            channel=MERGED_CHANNEL,
            address=str(other.id),
        )
    )


def _merge_event(
    session: AsyncSession, p: Principal | None, conv: Conversation, with_id: int, with_name: str
) -> ConversationEvent:
    """``p`` is the agent who merged, or None when Omniline joined them (a visitor signed in)."""
    ev = ConversationEvent(
        workspace_id=conv.workspace_id,
        conversation_id=conv.id,
        type="contact_merged",
        actor_type=AuthorType.agent.value if p else AuthorType.system.value,
        actor_id=p.user_id if p else None,
        actor_name=p.name if p else "",
        data={"with_contact_id": with_id, "with_name": with_name},
    )
    session.add(ev)
    return ev


async def do_merge(session: AsyncSession, p: Principal, keep_id: int, other_id: int) -> Contact:
    """Moves everything of contact ``other_id`` into ``keep_id`` and deletes ``other_id``."""
    access.check_may_merge_contacts(p)
    if keep_id == other_id:
        raise Invalid("other_id", "a contact cannot be merged with itself")
    found = await repository.get_for_update(session, p.workspace_id, [keep_id, other_id])
    keep, other = found.get(keep_id), found.get(other_id)
    if keep is None or other is None:
        raise NotFound("no such contact")
    convs = await _conversation_access(session, [keep.id, other.id])
    if not (_visible(p, convs[keep.id]) and _visible(p, convs[other.id])):
        raise NotFound("no such contact")
    return await _merge(session, p, keep, other, convs)


async def do_join_signed_in_visitor(session: AsyncSession, keep: Contact, other_id: int) -> None:
    """An anonymous web chat visitor logged in on the lender's site: their chats join the
    verified customer ``keep``. The caller has checked the site's signature and that the
    visitor's own session token names ``other_id``; no staff member is involved."""
    found = await repository.get_for_update(session, keep.workspace_id, [keep.id, other_id])
    other = found.get(other_id)
    if other is None or other.verified or other.external_id:
        return
    convs = await _conversation_access(session, [keep.id, other.id])
    await _merge(session, None, found.get(keep.id, keep), other, convs)


async def _merge(
    session: AsyncSession,
    p: Principal | None,
    keep: Contact,
    other: Contact,
    convs: dict[int, list[Conversation]],
) -> Contact:
    other_id = other.id
    keep_label, other_label = display_name(keep), display_name(other)
    moved = convs[other.id]
    if p is not None:
        _fill_fields(keep, other)
    elif not keep.language:
        # What an anonymous visitor typed about themselves is not the verified customer's data.
        keep.language = other.language
    await _move_rows(session, keep, other, moved)
    # Each conversation names the contact it was joined with ("Merged with Olena").
    events = [_merge_event(session, p, c, keep.id, keep_label) for c in moved]
    # The kept contact's open conversations say so too; closed history stays as it was.
    kept_open = [c for c in convs[keep.id] if c.status in OPEN_VALUES]
    events += [_merge_event(session, p, c, other_id, other_label) for c in kept_open]
    await session.flush()
    await session.delete(other)
    await session.flush()
    await _publish(session, [*moved, *kept_open], events)
    await emit(
        session,
        DomainEvent(
            "contact.merged", keep.workspace_id, {"keep_id": keep.id, "other_id": other_id}
        ),
    )
    return keep


async def _publish(
    session: AsyncSession, convs: list[Conversation], events: list[ConversationEvent]
) -> None:
    by_id = {c.id: c for c in convs}
    for ev in events:
        notify.timeline_event(session, by_id[ev.conversation_id], ev)
    for row in await conversations.rows_by_ids(session, sorted(by_id)):
        notify.conversation_changed(session, row, created=False)
