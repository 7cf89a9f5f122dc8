"""Building blocks of the presence tests: agents, waiting conversations, loads."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from omniline import db
from omniline.auth import service as users
from omniline.contacts.models import Contact
from omniline.conversations.models import Conversation, ConversationEvent, Status
from omniline.jobs.runner import Runner
from omniline.kit.clock import utcnow
from omniline.presence import service
from omniline.presence.assignment import Assignment, run_queue
from omniline.workspaces import service as workspaces
from tests.conftest import Demo


async def make_agent(demo: Demo, name: str, queue_ids: list[int], **caps: int | None) -> int:
    async with db.unit_of_work() as session:
        user = await users.do_create_user(
            session,
            workspace_id=demo.workspace_id,
            email=f"{name.lower().replace(' ', '.')}@demo.omniline",
            name=name,
            password="agent-password",
            role="agent",
        )
        for q in queue_ids:
            await workspaces.do_add_queue_member(session, demo.workspace_id, q, user.id)
        state = await service.ensure_state(session, demo.workspace_id, user.id)
        for kind, value in caps.items():
            setattr(state, f"{kind}_capacity", value)
        return user.id


async def set_presence(demo: Demo, user_id: int, status: str) -> None:
    async with db.unit_of_work() as session:
        await service.do_set_presence(session, demo.workspace_id, user_id, status)


async def add_waiting(
    demo: Demo,
    queue_id: int,
    n: int = 1,
    *,
    channel: str = "webchat",
    priority: int = 0,
    waited_seconds: float = 0,
) -> list[int]:
    """``n`` queued conversations (one contact each) in ``queue_id``, without triggers."""
    now = utcnow()
    async with db.unit_of_work() as session:
        ids = []
        for i in range(n):
            contact = Contact(workspace_id=demo.workspace_id, name=f"c{i}", attributes={})
            session.add(contact)
            await session.flush()
            conv = Conversation(
                workspace_id=demo.workspace_id,
                inbox_id=demo.inbox_id,
                channel=channel,
                contact_id=contact.id,
                queue_id=queue_id,
                status=Status.queued.value,
                priority=priority,
                first_queued_at=now - timedelta(seconds=waited_seconds) + timedelta(microseconds=i),
                tags=[],
            )
            session.add(conv)
            await session.flush()
            ids.append(conv.id)
        return ids


async def run(demo: Demo, queue_id: int, **kw: Any) -> list[Assignment]:
    async with db.unit_of_work() as session:
        return await run_queue(session, demo.workspace_id, queue_id, **kw)


async def run_jobs() -> int:
    total = 0
    runner = Runner()
    try:
        while ran := await runner.run_due():
            total += ran
    finally:
        await runner.stop()
    return total


async def convs(*ids: int) -> dict[int, Conversation]:
    async with db.sessionmaker()() as session:
        rows = await session.scalars(select(Conversation).where(Conversation.id.in_(ids)))
        return {c.id: c for c in rows}


async def open_load(user_id: int) -> int:
    async with db.sessionmaker()() as session:
        return int(
            await session.scalar(
                select(func.count())
                .select_from(Conversation)
                .where(
                    Conversation.assignee_id == user_id,
                    Conversation.status.in_(["assigned", "waiting_customer"]),
                )
            )
            or 0
        )


async def events_of(conv_id: int) -> list[ConversationEvent]:
    async with db.sessionmaker()() as session:
        return list(
            await session.scalars(
                select(ConversationEvent)
                .where(ConversationEvent.conversation_id == conv_id)
                .order_by(ConversationEvent.id)
            )
        )
