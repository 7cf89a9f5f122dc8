"""Each agent's open conversations per kind (``agent_states.<kind>_load``) are kept on every
path that changes a conversation, and least-loaded assignment reads them: after every step
below the columns equal a fresh count of the agents' open conversations."""

from __future__ import annotations

import httpx
from sqlalchemy import delete, select, update

from omniline import db
from omniline.auth import service as users
from omniline.auth.models import User
from omniline.contacts.models import Contact
from omniline.conversations.models import Conversation, Status
from omniline.presence import repository as repo
from omniline.presence import service
from omniline.presence.models import AgentState, ChannelKind, QueueRouting
from tests.conftest import Demo, bearer, staff_token, visitor
from tests.presence.helpers import add_waiting, make_agent, run, set_presence

PASSWORDS = {"agent": "demo-agent", "agent2": "demo-agent", "admin": "demo-admin"}


async def _columns() -> dict[int, dict[ChannelKind, int]]:
    async with db.sessionmaker()() as session:
        rows = await session.execute(
            select(AgentState.user_id, AgentState.chat_load, AgentState.email_load,
                   AgentState.voice_load)
        )  # fmt: skip
        return {
            int(u): {ChannelKind.chat: c, ChannelKind.email: e, ChannelKind.voice: v}
            for u, c, e, v in rows
        }


async def _assert_kept(step: str) -> dict[int, dict[ChannelKind, int]]:
    """The columns equal the counted loads of every agent; answers the columns."""
    kept = await _columns()
    async with db.sessionmaker()() as session:
        counted = await repo.loads(session, kept)
    for user_id, by_kind in kept.items():
        assert by_kind == counted[user_id], (step, user_id)
    return kept


async def _hold(demo: Demo, user_id: int | None, channel: str, status: str) -> int:
    """A conversation inserted as it is (an import, a fixture): no service involved."""
    async with db.unit_of_work() as session:
        contact = Contact(workspace_id=demo.workspace_id, name="held", attributes={})
        session.add(contact)
        await session.flush()
        conv = Conversation(
            workspace_id=demo.workspace_id,
            inbox_id=demo.inbox_id,
            channel=channel,
            contact_id=contact.id,
            queue_id=demo.queues["First line"],
            status=status,
            assignee_id=user_id,
            tags=[],
        )
        session.add(conv)
        await session.flush()
        return conv.id


async def test_loads_follow_every_path(client: httpx.AsyncClient, demo: Demo) -> None:
    agent, agent2 = demo.users["agent"], demo.users["agent2"]
    async with db.unit_of_work() as session:
        for user_id in (agent, agent2):
            await service.ensure_state(session, demo.workspace_id, user_id)
    admin = await staff_token(client, "admin@demo.omniline", PASSWORDS["admin"])
    me = await staff_token(client, "agent@demo.omniline", PASSWORDS["agent"])

    async def post(token: str, conv: int, action: str, body: object = None) -> None:
        r = await client.post(
            f"/api/v1/conversations/{conv}/{action}", json=body, headers=bearer(token)
        )
        assert r.status_code == 200, (action, r.text)

    chats = []
    for text in ("My card is blocked", "Where is my transfer?"):
        token = await visitor(client)
        r = await client.post("/api/v1/widget/messages", json={"text": text}, headers=bearer(token))
        assert r.status_code == 201, r.text
        chats.append(int(r.json()["conversation_id"]))
    await _assert_kept("new chats")

    await post(admin, chats[0], "assign", {"assignee_id": agent})
    await post(me, chats[1], "pick")
    assert (await _assert_kept("assign and pick"))[agent][ChannelKind.chat] == 2

    r = await client.post(
        f"/api/v1/conversations/{chats[0]}/messages", json={"text": "Let me look"},
        headers=bearer(me),
    )  # fmt: skip
    assert r.status_code == 201, r.text
    assert (await _assert_kept("a reply: waiting for the customer"))[agent][ChannelKind.chat] == 2

    await post(admin, chats[1], "assign", {"assignee_id": agent2})
    kept = await _assert_kept("given to a colleague")
    assert kept[agent][ChannelKind.chat] == 1 and kept[agent2][ChannelKind.chat] == 1

    await post(me, chats[0], "resolve")
    assert (await _assert_kept("resolved"))[agent][ChannelKind.chat] == 0
    await post(me, chats[0], "reopen")
    await _assert_kept("reopened")
    await post(admin, chats[1], "transfer", {"queue_id": demo.queues["Tech support"]})
    await _assert_kept("transferred")
    await post(admin, chats[1], "assign", {"assignee_id": None})
    await _assert_kept("unassigned")

    # Letters and calls count in their own kinds; other statuses count nowhere.
    letter = await _hold(demo, agent, "email", Status.assigned.value)
    call = await _hold(demo, agent, "voice", Status.assigned.value)
    await _hold(demo, agent, "telegram", Status.waiting_customer.value)
    await _hold(demo, agent, "webchat", Status.resolved.value)
    kept = await _assert_kept("inserted as they are")
    assert kept[agent][ChannelKind.email] == 1 and kept[agent][ChannelKind.voice] == 1

    # Changes made straight on the rows, outside every service: a close, a deletion, a move.
    async with db.unit_of_work() as session:
        held = {
            c.id: c
            for c in await session.scalars(
                select(Conversation).where(Conversation.assignee_id == agent)
            )
        }
        held[letter].status = Status.resolved.value
        await session.delete(held[call])
        for conv in held.values():
            if conv.channel == "telegram":
                conv.assignee_id = agent2
    kept = await _assert_kept("changed on the rows")
    assert kept[agent][ChannelKind.email] == 0 and kept[agent][ChannelKind.voice] == 0

    # Bulk statements: a move of everything Anna holds, a close, a deletion.
    extra = [await _hold(demo, agent, "webchat", Status.assigned.value) for _ in range(3)]
    async with db.unit_of_work() as session:
        await session.execute(
            update(Conversation)
            .where(Conversation.assignee_id == agent, Conversation.status != "resolved")
            .values(assignee_id=agent2)
        )
        await session.execute(
            update(Conversation).where(Conversation.id == extra[0]).values(status="resolved")
        )
        await session.execute(delete(Conversation).where(Conversation.id == extra[1]))
    kept = await _assert_kept("bulk statements")
    assert kept[agent][ChannelKind.chat] == 0 and kept[agent2][ChannelKind.chat] >= 1

    # A deactivated agent (online) goes offline: their chats go back to their queues, and
    # their load with them.
    await set_presence(demo, agent2, "online")
    async with db.unit_of_work() as session:
        user = await session.get(User, agent2)
        assert user is not None
        await users.do_update_user(session, user, active=False)
    assert (await _assert_kept("deactivated"))[agent2][ChannelKind.chat] == 0


async def test_an_agent_without_a_state_row_is_counted_too(demo: Demo) -> None:
    """An agent who never set a presence can be given conversations: when they come, their
    load is there already."""
    async with db.unit_of_work() as session:
        user = await users.do_create_user(
            session,
            workspace_id=demo.workspace_id,
            email="late@demo.omniline",
            name="Late Starter",
            password="agent-password",
            role="agent",
        )
    for channel in ("webchat", "webchat", "email"):
        await _hold(demo, user.id, channel, Status.assigned.value)
    async with db.unit_of_work() as session:
        await service.ensure_state(session, demo.workspace_id, user.id)
    kept = await _assert_kept("first state row")
    assert kept[user.id] == {ChannelKind.chat: 2, ChannelKind.email: 1, ChannelKind.voice: 0}


async def test_least_loaded_counts_work_given_outside_the_assigner(demo: Demo) -> None:
    """Loads that change by hand (an admin's assignment, a resolve) steer the next decision."""
    q = demo.queues["Tech support"]
    async with db.unit_of_work() as session:
        session.add(
            QueueRouting(queue_id=q, workspace_id=demo.workspace_id, strategy="least_loaded")
        )
    ann = await make_agent(demo, "Ann", [q], chat=5)
    ben = await make_agent(demo, "Ben", [q], chat=5)
    await set_presence(demo, ann, "online")
    await set_presence(demo, ben, "online")  # Ann has been idle longer
    held = [await _hold(demo, ann, "webchat", Status.assigned.value) for _ in range(2)]

    await add_waiting(demo, q, 2, waited_seconds=30)
    made = await run(demo, q)
    assert [m.user_id for m in made] == [ben, ben]  # Ann held two already

    async with db.unit_of_work() as session:
        await session.execute(
            update(Conversation)
            .where(Conversation.id.in_(held))
            .values(status=Status.resolved.value)
        )
    await add_waiting(demo, q, 1, waited_seconds=20)
    made = await run(demo, q)
    assert [m.user_id for m in made] == [ann]  # now Ann has none, Ben two
    await _assert_kept("after the decisions")
