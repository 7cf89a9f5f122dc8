"""Plain-dict shapes of conversations, messages and events as the API answers them."""

from __future__ import annotations

from typing import Any

from omniline.conversations import inline_parts
from omniline.conversations.document_numbers import mask_documents
from omniline.conversations.models import Attachment, Conversation, ConversationEvent, Message
from omniline.kit.clock import iso


def attachment_view(att: Attachment, *, widget_token: str | None = None) -> dict[str, Any]:
    url = f"/api/v1/attachments/{att.id}"
    if widget_token is not None:
        url = f"/api/v1/widget/attachments/{att.id}"
    return {
        "id": att.id,
        "filename": att.filename,
        "content_type": att.content_type,
        "size": att.size,
        "url": url,
        # A picture the message's HTML shows (meta.html links to ``url``): not a listed file.
        "inline": att.content_id is not None,
    }


def message_view(
    msg: Message, attachments: list[Attachment] | None = None, *, reveal_documents: bool = False
) -> dict[str, Any]:
    """``reveal_documents``: passport and tax numbers in full (see document_numbers.py)."""
    return {
        "id": msg.id,
        "conversation_id": msg.conversation_id,
        "direction": msg.direction,
        "private": msg.private,
        "author": {"type": msg.author_type, "id": msg.author_id, "name": msg.author_name},
        "text": msg.text if reveal_documents else mask_documents(msg.text),
        "attachments": [attachment_view(a) for a in attachments or []],
        "delivery_status": msg.delivery_status,
        "delivery_error": msg.delivery_error,
        "meta": _with_inline_parts(msg.meta or {}, attachments or []),
        "created_at": iso(msg.created_at),
    }


def _with_inline_parts(meta: dict[str, Any], attachments: list[Attachment]) -> dict[str, Any]:
    """``cid:`` pictures of the HTML pointed at their attachments' (access-checked) URLs."""
    urls = {a.content_id: attachment_view(a)["url"] for a in attachments if a.content_id}
    html = meta.get("html")
    if not urls or not isinstance(html, str):
        return meta
    return {**meta, "html": inline_parts.link_inline_parts(html, urls)}


def widget_message_view(
    msg: Message, attachments: list[Attachment] | None = None
) -> dict[str, Any]:
    return {
        "id": msg.id,
        "conversation_id": msg.conversation_id,
        "direction": msg.direction,
        "author": {"type": msg.author_type, "name": msg.author_name},
        "text": msg.text,
        "attachments": [attachment_view(a, widget_token="") for a in attachments or []],
        # Quick replies of a bot message: [{"text", "payload"} or {"text", "url"}].
        "buttons": _buttons(msg) if msg.direction == "out" else [],
        # A satisfaction survey (surveys/jobs.py): {request_id, kind, low, high, comment,
        # thanks}; answered with POST /api/v1/widget/survey.
        "survey": _survey(msg) if msg.direction == "out" else None,
        "created_at": iso(msg.created_at),
    }


def _survey(msg: Message) -> dict[str, Any] | None:
    raw = (msg.meta or {}).get("survey")
    return dict(raw) if isinstance(raw, dict) else None


def _buttons(msg: Message) -> list[dict[str, str]]:
    raw = (msg.meta or {}).get("buttons")
    out = []
    for b in raw if isinstance(raw, list) else []:
        if isinstance(b, dict) and isinstance(b.get("text"), str):
            out.append({k: str(v) for k, v in b.items() if k in ("text", "payload", "url")})
    return out


def event_view(ev: ConversationEvent) -> dict[str, Any]:
    return {
        "id": ev.id,
        "conversation_id": ev.conversation_id,
        "type": ev.type,
        "actor": {"type": ev.actor_type, "id": ev.actor_id, "name": ev.actor_name},
        "data": ev.data,
        "created_at": iso(ev.created_at),
    }


def summary_view(
    conv: Conversation,
    *,
    queue_name: str | None,
    inbox_name: str,
    assignee_name: str | None,
    contact_name: str | None,
    locked: bool = False,
) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": conv.id,
        "locked": locked,
        "status": conv.status,
        "priority": conv.priority,
        "queue": {"id": conv.queue_id, "name": queue_name} if conv.queue_id else None,
        "inbox": {"id": conv.inbox_id, "name": inbox_name, "channel": conv.channel},
        "assignee": {"id": conv.assignee_id, "name": assignee_name} if conv.assignee_id else None,
        "created_at": iso(conv.created_at),
        "last_activity_at": iso(conv.last_activity_at),
    }
    if locked:
        base.update(contact=None, last_message=None, tags=[])
    else:
        base.update(
            contact={"id": conv.contact_id, "name": contact_name or ""},
            last_message=(
                {
                    "text": conv.last_message_text or "",
                    "direction": conv.last_message_direction,
                    "created_at": iso(conv.last_message_at),
                }
                if conv.last_message_at
                else None
            ),
            tags=list(conv.tags or []),
        )
    return base


def contact_display_name(name: str | None, contact_id: int) -> str:
    return name or f"Visitor #{contact_id}"
