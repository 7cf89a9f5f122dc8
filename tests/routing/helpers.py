"""Building blocks of the routing tests: the bank's departments and rules of the issue."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.contacts.models import Contact
from omniline.conversations.models import Conversation, ConversationEvent
from omniline.inboxes import service as inboxes
from omniline.kit.clock import utcnow
from omniline.routing import rules
from omniline.workspaces import service as workspaces
from tests.conftest import Demo

TELEMARKETING = "telemarketing@bank.example"
MAIL = "mail@bank.example"


def sign(secret: str, external_id: str) -> str:
    return hmac.new(secret.encode(), external_id.encode(), hashlib.sha256).hexdigest()


async def bank(session: AsyncSession, demo: Demo) -> dict[str, int]:
    """Adds Telemarketing, Mail and an email inbox; answers queue and inbox ids by name."""
    ids = dict(demo.queues)
    for name in ("Telemarketing", "Mail"):
        ids[name] = (await workspaces.do_create_queue(session, demo.workspace_id, name)).id
    mailbox = await inboxes.do_create_inbox(
        session, demo.workspace_id, channel="email", name="Mailbox", default_queue_id=ids["Mail"]
    )
    ids["email_inbox"] = mailbox.id
    return ids


def issue_rules(q: dict[str, int]) -> list[dict[str, Any]]:
    """The rules of the issue: clients skip the first line; telemarketing beats mail."""
    return [
        {
            "name": "Mail",
            "priority": 10,
            "conditions": [{"type": "channel", "channels": ["email"]}],
            "actions": {"queue_id": q["Mail"]},
        },
        {
            "name": "Clients",
            "priority": 50,
            "conditions": [{"type": "attribute", "key": "client", "value": True}],
            "actions": {"queue_id": q["Business assistants"], "tags": ["client"], "priority": 80},
        },
        {
            "name": "Contract signed",
            "priority": 50,
            "conditions": [{"type": "event", "name": "contract_signed", "within_days": 30}],
            "actions": {"queue_id": q["Business assistants"]},
        },
        {
            "name": "Telemarketing",
            "priority": 60,
            "conditions": [{"type": "mailbox", "addresses": [TELEMARKETING]}],
            "actions": {"queue_id": q["Telemarketing"], "tags": ["telemarketing"]},
        },
    ]


async def add_rules(session: AsyncSession, workspace_id: int, data: list[dict[str, Any]]) -> None:
    for d in data:
        await rules.do_create_rule(session, workspace_id, d)


async def new_contact(session: AsyncSession, workspace_id: int, **kw: Any) -> Contact:
    contact = Contact(workspace_id=workspace_id, name=kw.pop("name", "Test"), **kw)
    session.add(contact)
    await session.flush()
    return contact


async def new_conversation(
    session: AsyncSession, workspace_id: int, contact_id: int, inbox_id: int, channel: str,
    queue_id: int | None, status: str = "queued",
) -> Conversation:  # fmt: skip
    now = utcnow()
    conv = Conversation(
        workspace_id=workspace_id, inbox_id=inbox_id, channel=channel, contact_id=contact_id,
        queue_id=queue_id, status=status, created_at=now, last_activity_at=now, tags=[],
    )  # fmt: skip
    session.add(conv)
    await session.flush()
    return conv


async def events_of(session: AsyncSession, conv_id: int, type_: str) -> list[ConversationEvent]:
    return list(
        await session.scalars(
            select(ConversationEvent)
            .where(ConversationEvent.conversation_id == conv_id, ConversationEvent.type == type_)
            .order_by(ConversationEvent.id)
        )
    )
