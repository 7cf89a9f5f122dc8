"""Statements per first contact: a messenger message that opens a new conversation.

The ingest path is batched (one query per step for the whole batch), but each new
conversation still wakes the listeners of other domains (routing, SLA clocks, the
lists). This pins what a batch of first contacts costs, per conversation, with an SLA
policy on the queue, so a listener that starts asking per conversation shows here.
"""

from __future__ import annotations

import httpx

from omniline import db
from omniline.conversations.inbound import InboundMessage
from omniline.conversations.service import receive_inbound
from tests.conftest import Demo
from tests.conversations.test_channel_contract import make_inbox
from tests.conversations.test_staff_api import count_queries
from tests.sla.conftest import make_policy

# Statements per new conversation beyond the first of a batch. PostgreSQL writes the
# rows of every step for the whole batch in one statement, and the listeners (routing,
# SLA clocks, auto-replies, the lists) read once per batch: none. SQLite inserts new
# conversations and SLA timers one row at a time (the unit of work wants their ids).
PER_NEW = {"postgresql": 0, "sqlite": 3}
# A batch of messages into open conversations: the same statements whatever its size.
EXISTING = 9


async def _batch(demo: Demo, inbox_id: int, senders: list[str]) -> int:
    with count_queries() as statements:
        async with db.unit_of_work() as session:
            await receive_inbound(
                session,
                [
                    InboundMessage(
                        workspace_id=demo.workspace_id,
                        inbox_id=inbox_id,
                        text="Is my loan approved?",
                        sender_address=sender,
                        sender_name="Ivan",
                    )
                    for sender in senders
                ],
            )
    return len(statements)


async def test_a_batch_of_first_contacts_costs_a_few_statements_each(
    client: httpx.AsyncClient, demo: Demo
) -> None:
    await make_policy(client, demo)  # every new conversation opens SLA clocks
    inbox_id = await make_inbox(demo)
    one = await _batch(demo, inbox_id, ["first"])
    eleven = await _batch(demo, inbox_id, [f"sender-{i}" for i in range(11)])
    dialect = db.get_engine().dialect.name
    assert eleven - one <= 10 * PER_NEW[dialect], (one, eleven)
    # The same eleven senders again: their conversations are open, nothing is created.
    assert await _batch(demo, inbox_id, [f"sender-{i}" for i in range(11)]) <= EXISTING
