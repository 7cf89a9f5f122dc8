"""Property: under random arrivals, resolves, presence changes, engine runs and take-next,
no agent ever holds more than their capacity and no conversation gets two agents."""

from __future__ import annotations

import itertools
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update

from omniline import db
from omniline.auth.principal import Principal
from omniline.conversations.models import Conversation, ConversationEvent
from omniline.errors import Conflict, NotFound
from omniline.presence import manual
from omniline.presence import repository as repo
from omniline.presence.models import ChannelKind, Presence
from omniline.workspaces import service as workspaces
from tests.conftest import Demo
from tests.presence.helpers import add_waiting, make_agent, run, set_presence

CAPS = {"chat": 2, "email": 1, "voice": 1}
counter = itertools.count()

op = st.one_of(
    st.tuples(
        st.just("arrive"),
        st.sampled_from(["webchat", "telegram", "email", "voice"]),
        st.integers(0, 3),
    ),
    st.tuples(st.just("presence"), st.integers(0, 2), st.sampled_from(list(Presence))),
    st.tuples(st.just("resolve"), st.integers(0, 30), st.just(0)),
    st.tuples(st.just("run"), st.just(0), st.just(0)),
    st.tuples(st.just("take"), st.integers(0, 2), st.just(0)),
)


async def _check(demo: Demo, queue_id: int, agents: list[int]) -> None:
    async with db.sessionmaker()() as session:
        loads = await repo.loads(session, agents)
        for a in agents:
            for kind in ChannelKind:
                assert loads[a][kind] <= CAPS[kind.value], (a, kind, loads[a])
        convs = list(
            await session.scalars(select(Conversation).where(Conversation.queue_id == queue_id))
        )
        events = list(
            await session.scalars(
                select(ConversationEvent)
                .where(ConversationEvent.conversation_id.in_([c.id for c in convs]))
                .order_by(ConversationEvent.id)
            )
        )
    holder: dict[int, int | None] = {}
    for ev in events:
        if ev.type == "assigned":
            assert holder.get(ev.conversation_id) is None, "assigned while someone had it"
            holder[ev.conversation_id] = ev.data["assignee_id"]
        elif ev.type in ("requeued", "unassigned"):
            holder[ev.conversation_id] = None
    for c in convs:
        assert holder.get(c.id) == c.assignee_id


async def _step(demo: Demo, q: int, agents: list[int], step: tuple[Any, Any, Any]) -> None:
    kind, a, b = step
    if kind == "arrive":
        await add_waiting(demo, q, 1, channel=a, priority=b)
    elif kind == "presence":
        await set_presence(demo, agents[a], b.value)
    elif kind == "run":
        await run(demo, q)
    elif kind == "take":
        p = Principal(agents[a], demo.workspace_id, "agent", "A", "a@x", "en", frozenset({q}))
        try:
            async with db.unit_of_work() as session:
                await manual.do_take_next(session, p, q)
        except (Conflict, NotFound):
            pass
    else:
        async with db.unit_of_work() as session:
            open_ = list(
                await session.scalars(
                    select(Conversation.id)
                    .where(Conversation.queue_id == q, Conversation.assignee_id.is_not(None))
                    .where(Conversation.status.in_(["assigned", "waiting_customer"]))
                    .order_by(Conversation.id)
                )
            )
            if open_:
                cid = open_[a % len(open_)]
                await session.execute(
                    update(Conversation).where(Conversation.id == cid).values(status="resolved")
                )


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(op, min_size=1, max_size=20))
async def test_capacity_and_single_assignee_hold(demo: Demo, steps: list[Any]) -> None:
    n = next(counter)
    async with db.unit_of_work() as session:
        queue = await workspaces.do_create_queue(session, demo.workspace_id, f"Prop {n}")
        q = queue.id
    agents = [await make_agent(demo, f"Prop {n} agent {i}", [q], **CAPS) for i in range(3)]
    for step in steps:
        await _step(demo, q, agents, step)
        await _check(demo, q, agents)
