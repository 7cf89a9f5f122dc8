"""Proactive notifications from the lender's CRM: templates per language, the customer's
channel and language chosen for them, an idempotency key so a retried call sends once, the
customer's opt-out honoured, and a reply continuing as a normal conversation."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.autoreplies.languages import choose
from omniline.contacts import repository as contacts
from omniline.contacts.models import Contact, ContactIdentity
from omniline.conversations import notify, repository
from omniline.conversations.delivery import reply_blocked_reason
from omniline.conversations.models import Conversation, ConversationEvent, Message, Status
from omniline.conversations.system_messages import do_send_system_message
from omniline.errors import Invalid, NoSuch, NotFound, Taken
from omniline.inboxes.models import Inbox
from omniline.kit.clock import utcnow
from omniline.kit.idempotency import insert_once
from omniline.kit.placeholders import fill
from omniline.notifications.models import Notification, NotificationStatus, NotificationTemplate

KEY = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
LANGUAGE = re.compile(r"^[a-z]{2,3}(-[a-z0-9]{2,8})?$")
MAX_TEXT = 4000


def _shown(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def render(template: str, variables: dict[str, Any]) -> str:
    return fill(template, variables.get)


# ---------------------------------------------------------------------------- templates


def _check_template(data: dict[str, Any]) -> dict[str, Any]:
    key = str(data.get("key") or "").strip()
    if not KEY.match(key):
        raise Invalid("key", "lower-case letters, digits, '.', '-' and '_' (at most 64)")
    name = str(data.get("name") or key).strip()[:200]
    given = {str(k).strip().lower(): str(v).strip() for k, v in (data.get("texts") or {}).items()}
    # Every key a language code, also of a blank text (which is then left out).
    for lang in given:
        if not LANGUAGE.match(lang):
            raise Invalid("texts", f"{lang!r} is not a language code")
    texts = {lang: text for lang, text in given.items() if text}
    if not texts:
        raise Invalid("texts", "give the text in at least one language")
    for lang, text in texts.items():
        if len(text) > MAX_TEXT:
            raise Invalid("texts", f"the {lang} text is longer than {MAX_TEXT} characters")
    fallback = str(data.get("fallback_language") or next(iter(texts))).strip().lower()
    if fallback not in texts:
        raise Invalid("fallback_language", "must be one of the languages with a text")
    whatsapp = data.get("whatsapp") or {}
    if whatsapp and not str(whatsapp.get("name") or "").strip():
        raise Invalid("whatsapp.name", "name the approved WhatsApp template")
    return {
        "key": key,
        "name": name,
        "texts": texts,
        "fallback_language": fallback,
        "whatsapp": whatsapp,
        "enabled": bool(data.get("enabled", True)),
    }


async def templates(session: AsyncSession, workspace_id: int) -> list[NotificationTemplate]:
    return list(
        await session.scalars(
            select(NotificationTemplate)
            .where(NotificationTemplate.workspace_id == workspace_id)
            .order_by(NotificationTemplate.key)
        )
    )


async def template_of(
    session: AsyncSession, workspace_id: int, template_id: int
) -> NotificationTemplate:
    found = await session.get(NotificationTemplate, template_id)
    if found is None or found.workspace_id != workspace_id:
        raise NotFound("no such template")
    return found


async def _by_key(
    session: AsyncSession, workspace_id: int, key: str
) -> NotificationTemplate | None:
    found: NotificationTemplate | None = await session.scalar(
        select(NotificationTemplate).where(
            NotificationTemplate.workspace_id == workspace_id, NotificationTemplate.key == key
        )
    )
    return found


async def do_save_template(
    session: AsyncSession, workspace_id: int, data: dict[str, Any], template_id: int | None = None
) -> NotificationTemplate:
    clean = _check_template(data)
    same_key = await _by_key(session, workspace_id, clean["key"])
    if same_key is not None and same_key.id != template_id:
        raise Taken("key", f"a template called {clean['key']!r} exists")
    if template_id is None:
        template = NotificationTemplate(workspace_id=workspace_id, **clean)
        session.add(template)
    else:
        template = await template_of(session, workspace_id, template_id)
        for k, v in clean.items():
            setattr(template, k, v)
    await session.flush()
    return template


async def do_delete_template(session: AsyncSession, workspace_id: int, template_id: int) -> None:
    await session.delete(await template_of(session, workspace_id, template_id))
    await session.flush()


# ---------------------------------------------------------------------------- sending


@dataclass
class Target:
    inbox: Inbox
    address: str | None
    conversation: Conversation | None


async def _target(session: AsyncSession, contact: Contact, wanted: str | None) -> Target | None:
    """The channel to reach the contact in: the one asked for (or their preferred one), else the
    one they wrote from last, else any channel where they are known."""
    preferred = wanted or str((contact.attributes or {}).get("preferred_channel") or "") or None
    recent = list(
        await session.execute(
            select(Conversation, Inbox)
            .join(Inbox, Inbox.id == Conversation.inbox_id)
            .where(Conversation.contact_id == contact.id, Inbox.enabled.is_(True))
            .order_by(Conversation.last_activity_at.desc(), Conversation.id.desc())
            .limit(20)
        )
    )
    for conv, inbox in recent:
        if preferred is None or inbox.channel == preferred:
            open_ = (
                conv if conv.status not in (Status.resolved.value, Status.closed.value) else None
            )
            return Target(inbox, conv.contact_address, open_)
    identities = list(
        await session.scalars(
            select(ContactIdentity).where(ContactIdentity.contact_id == contact.id)
        )
    )
    channels = [i.channel for i in identities]
    if contact.email:
        channels.append("email")
    order = [preferred] if preferred else []
    order += [c for c in channels if c not in order]
    for channel in order:
        found = await session.scalar(
            select(Inbox)
            .where(
                Inbox.workspace_id == contact.workspace_id,
                Inbox.channel == channel,
                Inbox.enabled.is_(True),
            )
            .order_by(Inbox.id)
            .limit(1)
        )
        if found is None:
            continue
        address = next((i.address for i in identities if i.channel == channel), None)
        if channel == "email":
            address = address or contact.email
        return Target(found, address, None)
    return None


async def _open_conversation(
    session: AsyncSession, contact: Contact, target: Target, language: str
) -> Conversation:
    if target.conversation is not None:
        return target.conversation
    found = await repository.open_for_contacts(session, {(contact.id, target.inbox.id)})
    conv = found.get((contact.id, target.inbox.id))
    if conv is not None:
        return conv
    now = utcnow()
    conv = Conversation(
        workspace_id=contact.workspace_id,
        inbox_id=target.inbox.id,
        channel=target.inbox.channel,
        contact_id=contact.id,
        contact_address=(target.address or "")[:320] or None,
        queue_id=target.inbox.default_queue_id,
        # Nothing for an agent to do until the customer answers.
        status=Status.waiting_customer.value,
        language=language,
        created_at=now,
        last_activity_at=now,
        tags=[],
    )
    session.add(conv)
    await session.flush()
    session.add(
        ConversationEvent(
            workspace_id=conv.workspace_id,
            conversation_id=conv.id,
            type="created",
            actor_type="system",
            actor_id=None,
            actor_name="",
            data={"channel": conv.channel, "by": "notification"},
            created_at=now,
        )
    )
    await session.flush()
    (row,) = await repository.rows_by_ids(session, [conv.id])
    notify.conversation_changed(session, row, created=True)
    return conv


async def do_send(
    session: AsyncSession,
    workspace_id: int,
    *,
    external_id: str,
    template_key: str,
    variables: dict[str, Any],
    idempotency_key: str,
    channel: str | None = None,
) -> tuple[Notification, bool]:
    """Send one notification; ``(notification, False)`` when this key was sent before."""
    earlier = await _by_idempotency(session, workspace_id, idempotency_key)
    if earlier is not None:
        return earlier, False
    template = await _by_key(session, workspace_id, template_key)
    if template is None or not template.enabled:
        raise NoSuch("template", f"no enabled template {template_key!r}")
    contact = await contacts.by_external_id(session, workspace_id, external_id)
    if contact is None:
        raise NoSuch("external_id", "no customer with this external_id")
    clean = {str(k)[:64]: _shown(v)[:500] for k, v in variables.items()}
    note = Notification(
        workspace_id=workspace_id,
        idempotency_key=idempotency_key,
        contact_id=contact.id,
        template_key=template.key,
        variables=clean,
        status=NotificationStatus.sent.value,
    )
    # The same key sent at the same moment by a retry: that one wins.
    again = await insert_once(
        session, note, lambda: _by_idempotency(session, workspace_id, idempotency_key)
    )
    if again is not None:
        return again, False
    if contact.notifications_opt_out:
        note.status = NotificationStatus.opted_out.value
        note.reason = "the customer opted out of notifications"
        return note, True
    target = await _target(session, contact, channel)
    if target is None:
        note.status = NotificationStatus.no_channel.value
        note.reason = "the customer is known in no channel of this workspace"
        return note, True
    picked = choose(template.texts, contact.language, template.fallback_language)
    language, text = picked if picked else (template.fallback_language, "")
    conv = await _open_conversation(session, contact, target, language)
    meta: dict[str, Any] = {"notification": template.key}
    blocked = await reply_blocked_reason(session, conv)
    if blocked:
        wa = template.whatsapp or {}
        if target.inbox.channel == "whatsapp" and wa.get("name"):
            codes = wa.get("language") or {}
            meta["template"] = {
                "name": wa["name"],
                "language": codes.get(language) if isinstance(codes, dict) else str(codes),
                "params": [render(str(p), clean) for p in wa.get("params") or []],
            }
        else:
            note.status = NotificationStatus.no_channel.value
            note.reason = blocked[:500]
            note.conversation_id = conv.id
            note.channel = target.inbox.channel
            return note, True
    msg = await do_send_system_message(
        session, conv, render(text, clean), kind="notification", meta=meta
    )
    note.channel = target.inbox.channel
    note.language = language
    note.conversation_id = conv.id
    note.message_id = msg.id
    await session.flush()
    return note, True


async def _by_idempotency(
    session: AsyncSession, workspace_id: int, key: str
) -> Notification | None:
    found: Notification | None = await session.scalar(
        select(Notification).where(
            Notification.workspace_id == workspace_id, Notification.idempotency_key == key
        )
    )
    return found


async def notification_of(session: AsyncSession, workspace_id: int, note_id: int) -> Notification:
    found = await session.get(Notification, note_id)
    if found is None or found.workspace_id != workspace_id:
        raise NotFound("no such notification")
    return found


async def delivery_status(
    session: AsyncSession, note: Notification
) -> tuple[str | None, str | None]:
    """The message's delivery status now (queued, sent, delivered, read, failed) and error."""
    if note.message_id is None:
        return None, None
    row = (
        await session.execute(
            select(Message.delivery_status, Message.delivery_error).where(
                Message.id == note.message_id
            )
        )
    ).first()
    return (row[0], row[1]) if row else (None, None)


async def do_set_opt_out(
    session: AsyncSession, workspace_id: int, external_id: str, opt_out: bool
) -> Contact:
    contact = await contacts.by_external_id(session, workspace_id, external_id)
    if contact is None:
        raise NoSuch("external_id", "no customer with this external_id")
    contact.notifications_opt_out = opt_out
    await session.flush()
    return contact
