"""route_new_conversation on a real database, table-driven, and the dry run."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from omniline import db
from omniline.contacts import service as contacts
from omniline.conversations.inbound import InboundMessage
from omniline.conversations.models import Conversation, ConversationTag
from omniline.conversations.service import receive_inbound
from omniline.kit.clock import utcnow
from omniline.routing import rules, service
from omniline.sla.models import BusinessCalendar
from tests.conftest import Demo, bearer
from tests.identity import signed_identity
from tests.routing.helpers import (
    MAIL,
    TELEMARKETING,
    add_rules,
    bank,
    events_of,
    issue_rules,
    new_contact,
    new_conversation,
)


@pytest.fixture
async def queues(demo: Demo) -> dict[str, int]:
    async with db.unit_of_work() as session:
        q = await bank(session, demo)
        await add_rules(session, demo.workspace_id, issue_rules(q))
    return q


# label, contact fields, events (name, days ago), channel, to_address, expected queue, rule
TABLE: list[tuple[str, dict[str, Any], list[tuple[str, int]], str, str | None, str, str | None]] = [
    ("client = true skips the first line", {"attributes": {"client": True}}, [],
     "webchat", None, "Business assistants", "Clients"),
    ("contract signed last week", {}, [("contract_signed", 7)],
     "webchat", None, "Business assistants", "Contract signed"),
    ("contract signed too long ago", {}, [("contract_signed", 90)],
     "webchat", None, "First line", None),
    ("a stranger stays in the first line", {"attributes": {"client": False}}, [],
     "webchat", None, "First line", None),
    ("letter to telemarketing beats the general mail rule", {}, [],
     "email", TELEMARKETING, "Telemarketing", "Telemarketing"),
    ("letter to Telemarketing in capitals", {}, [],
     "email", TELEMARKETING.upper(), "Telemarketing", "Telemarketing"),
    ("letter to mail@ goes to Mail", {}, [], "email", MAIL, "Mail", "Mail"),
    ("a client's letter to telemarketing: the higher priority wins",
     {"attributes": {"client": True}}, [], "email", TELEMARKETING, "Telemarketing",
     "Telemarketing"),
    ("a client's letter to mail@: Clients outranks Mail", {"attributes": {"client": True}}, [],
     "email", MAIL, "Business assistants", "Clients"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("label", "fields", "events", "channel", "to", "queue", "rule"),
    TABLE,
    ids=[t[0] for t in TABLE],
)
async def test_routing_table(
    demo: Demo,
    queues: dict[str, int],
    label: str,
    fields: dict[str, Any],
    events: list[tuple[str, int]],
    channel: str,
    to: str | None,
    queue: str,
    rule: str | None,
) -> None:
    inbox = demo.inbox_id if channel == "webchat" else queues["email_inbox"]
    default = queues["First line"] if channel == "webchat" else queues["Mail"]
    async with db.unit_of_work() as session:
        contact = await new_contact(session, demo.workspace_id, **fields)
        for name, days in events:
            await contacts.do_add_event(
                session, demo.workspace_id, contact.id, name, {},
                occurred_at=utcnow() - timedelta(days=days),
            )  # fmt: skip
        conv = await new_conversation(
            session, demo.workspace_id, contact.id, inbox, channel, default
        )
        decision = await service.route_new_conversation(
            session, conv, first_text="Hello", to_address=to
        )
        conv_id = conv.id
    assert (decision.rule_name if decision else None) == rule
    async with db.sessionmaker()() as session:
        conv = await session.get_one(Conversation, conv_id)
        assert conv.queue_id == queues[queue]
        routed = await events_of(session, conv_id, "routed")
        if rule is None:
            assert routed == []
        else:
            assert [e.data["rule_name"] for e in routed] == [rule]
            assert routed[0].data["queue_name"] == queue
            assert routed[0].data["queue_id"] == queues[queue]


async def test_a_batch_of_first_contacts_is_routed_each_on_its_own_facts(
    demo: Demo, queues: dict[str, int]
) -> None:
    """The whole table in one batch of first messages (one read of the facts for all)."""
    inbound = []
    async with db.unit_of_work() as session:
        for label, fields, events, channel, to, _queue, _rule in TABLE:
            contact = await new_contact(session, demo.workspace_id, name=label, **fields)
            for name, days in events:
                await contacts.do_add_event(
                    session, demo.workspace_id, contact.id, name, {},
                    occurred_at=utcnow() - timedelta(days=days),
                )  # fmt: skip
            inbox = demo.inbox_id if channel == "webchat" else queues["email_inbox"]
            inbound.append(
                InboundMessage(
                    workspace_id=demo.workspace_id,
                    inbox_id=inbox,
                    text="Hello",
                    contact_id=contact.id,
                    to_address=to,
                )
            )
    async with db.unit_of_work() as session:
        received = await receive_inbound(session, inbound)
    async with db.sessionmaker()() as session:
        for res, (label, _f, _e, _c, _to, queue, rule) in zip(received, TABLE, strict=True):
            conv = await session.get_one(Conversation, res.message.conversation_id)
            assert conv.queue_id == queues[queue], label
            routed = await events_of(session, conv.id, "routed")
            assert [e.data["rule_name"] for e in routed] == ([rule] if rule else []), label
            tags = {"Clients": ["client"], "Telemarketing": ["telemarketing"]}
            assert conv.tags == tags.get(rule or "", []), label
        # The tags a rule gave are in the list's tag filter, counted as queued.
        tagged = await session.execute(
            select(ConversationTag.tag, ConversationTag.status).order_by(ConversationTag.tag)
        )
        assert sorted(tagged.all()) == sorted(
            [("client", "queued")] * 2 + [("telemarketing", "queued")] * 3
        )


async def _widget_conversation(client: httpx.AsyncClient, demo: Demo, text: str) -> int:
    identity = signed_identity(demo.identity_secret, "client-42")
    r = await client.post(
        "/api/v1/widget/sessions", json={"inbox_key": demo.inbox_key, "identity": identity}
    )
    assert r.status_code == 201, r.text
    token = r.json()["session_token"]
    r = await client.post("/api/v1/widget/messages", json={"text": text}, headers=bearer(token))
    assert r.status_code == 201, r.text
    async with db.sessionmaker()() as session:
        conv_id = await session.scalar(
            select(Conversation.id).where(Conversation.workspace_id == demo.workspace_id)
        )
    assert conv_id is not None
    return int(conv_id)


async def test_client_42_from_the_widget_is_routed_to_business_assistants(
    client: httpx.AsyncClient, demo: Demo, queues: dict[str, int]
) -> None:
    conv_id = await _widget_conversation(client, demo, "Добрий день, потрібна допомога")
    async with db.unit_of_work() as session:
        conv = await session.get_one(Conversation, conv_id)
        decision = await service.route_new_conversation(
            session, conv, first_text="Добрий день, потрібна допомога"
        )
    assert decision is not None
    assert decision.rule_name == "Clients"
    assert decision.queue_name == "Business assistants"
    async with db.sessionmaker()() as session:
        conv = await session.get_one(Conversation, conv_id)
        assert conv.queue_id == queues["Business assistants"]
        assert conv.priority == 80
        assert "client" in conv.tags
        tags = set(
            await session.scalars(
                select(ConversationTag.tag).where(ConversationTag.conversation_id == conv_id)
            )
        )
        assert "client" in tags
        routed = (await events_of(session, conv_id, "routed"))[-1]
        assert routed.data["rule_name"] == "Clients"
        assert routed.data["queue_name"] == "Business assistants"
        assert routed.data["rule_id"] > 0
    # The staff API shows the event in the conversation's timeline.
    from tests.conftest import staff_token

    token = await staff_token(client, "admin@demo.omniline", "demo-admin")
    r = await client.get(f"/api/v1/conversations/{conv_id}/events", headers=bearer(token))
    assert r.status_code == 200, r.text
    shown = [e for e in r.json()["items"] if e["type"] == "routed"]
    assert shown[-1]["data"]["queue_name"] == "Business assistants"
    assert shown[-1]["data"]["rule_name"] == "Clients"


async def test_widget_message_of_client_42_lands_in_business_assistants(
    client: httpx.AsyncClient, demo: Demo, queues: dict[str, int]
) -> None:
    conv_id = await _widget_conversation(client, demo, "Hello")
    async with db.sessionmaker()() as session:
        conv = await session.get_one(Conversation, conv_id)
        assert conv.queue_id == queues["Business assistants"]
        assert [e.data["rule_name"] for e in await events_of(session, conv_id, "routed")] == [
            "Clients"
        ]


async def test_keywords_language_country_topic_inbox_and_actions(demo: Demo) -> None:
    q = demo.queues
    async with db.unit_of_work() as session:
        await add_rules(
            session,
            demo.workspace_id,
            [
                {
                    "name": "Cash registers",
                    "priority": 40,
                    "conditions": [
                        {"type": "keywords", "keywords": ["каса", "касса", "cash register"]},
                        {"type": "inbox", "inbox_ids": [demo.inbox_id]},
                        {"type": "country", "countries": ["UA"]},
                    ],
                    "actions": {"queue_id": q["Tech support"], "tags": ["cash"], "language": "uk"},
                },
                {
                    "name": "Polish speakers",
                    "priority": 30,
                    "conditions": [{"type": "language", "languages": ["pl"]}],
                    "actions": {"priority": 5, "tags": ["pl"]},
                },
                {
                    "name": "Menu: loans",
                    "priority": 20,
                    "conditions": [{"type": "topic", "topics": ["loans"]}],
                    "actions": {"queue_id": q["Business assistants"], "skip_bot": True},
                },
            ],
        )
        ua = await new_contact(session, demo.workspace_id, country="UA")
        pl = await new_contact(session, demo.workspace_id, language="pl")
        other = await new_contact(session, demo.workspace_id)
        c1 = await new_conversation(
            session, demo.workspace_id, ua.id, demo.inbox_id, "webchat", q["First line"]
        )
        d1 = await service.route_new_conversation(session, c1, first_text="Не працює КАСА!")
        c2 = await new_conversation(
            session, demo.workspace_id, pl.id, demo.inbox_id, "webchat", q["First line"]
        )
        d2 = await service.route_new_conversation(session, c2, first_text="Dzień dobry")
        c3 = await new_conversation(
            session, demo.workspace_id, other.id, demo.inbox_id, "webchat", q["First line"],
            status="bot",
        )  # fmt: skip
        d3 = await service.route_new_conversation(session, c3, first_text="x", topic="Loans")
        c4 = await new_conversation(
            session, demo.workspace_id, other.id, demo.inbox_id, "webchat", q["First line"]
        )
        d4 = await service.route_new_conversation(session, c4, first_text="касами")
    assert d1 is not None and d1.rule_name == "Cash registers"
    assert (c1.queue_id, c1.tags, c1.language) == (q["Tech support"], ["cash"], "uk")
    assert d2 is not None and d2.rule_name == "Polish speakers"
    assert (c2.queue_id, c2.priority, c2.tags) == (q["First line"], 5, ["pl"])
    assert d3 is not None and d3.skip_bot and c3.status == "queued"
    assert c3.queue_id == q["Business assistants"]
    assert d4 is None and c4.queue_id == q["First line"]


async def test_business_hours_condition(demo: Demo) -> None:
    days = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    always = {d: [{"start": "00:00", "end": "24:00"}] for d in days}
    q = demo.queues
    async with db.unit_of_work() as session:
        cal = BusinessCalendar(
            workspace_id=demo.workspace_id, name="24/7", timezone="Europe/Kyiv", hours=always
        )
        session.add(cal)
        await session.flush()
        await add_rules(
            session,
            demo.workspace_id,
            [
                {
                    "name": "Out of hours",
                    "priority": 90,
                    "conditions": [
                        {"type": "business_hours", "calendar_id": cal.id, "open": False}
                    ],
                    "actions": {"tags": ["after-hours"]},
                },
                {
                    "name": "Open",
                    "priority": 80,
                    "conditions": [{"type": "business_hours", "calendar_id": cal.id}],
                    "actions": {"queue_id": q["Tech support"]},
                },
            ],
        )
        contact = await new_contact(session, demo.workspace_id)
        conv = await new_conversation(
            session, demo.workspace_id, contact.id, demo.inbox_id, "webchat", q["First line"]
        )
        decision = await service.route_new_conversation(session, conv, first_text="hi")
    assert decision is not None and decision.rule_name == "Open"


async def test_unknown_calendar_is_refused(demo: Demo) -> None:
    from omniline.errors import NoSuch

    async with db.unit_of_work() as session:
        with pytest.raises(NoSuch) as err:
            await rules.do_create_rule(
                session,
                demo.workspace_id,
                {
                    "name": "Hours",
                    "conditions": [{"type": "business_hours", "calendar_id": 999}],
                    "actions": {"priority": 1},
                },
            )
    assert err.value.fields[0]["field"] == "conditions[0].calendar_id"


async def test_a_rule_change_is_seen_at_once_and_compiled_rules_are_cached(
    demo: Demo, queues: dict[str, int]
) -> None:
    async with db.unit_of_work() as session:
        first = await service.compiled_rules(session, demo.workspace_id)
        again = await service.compiled_rules(session, demo.workspace_id)
        assert first is again  # no rule changed: the same compiled rules
        clients = next(r for r in first.rules if r.spec.name == "Clients")
        await rules.do_set_enabled(session, demo.workspace_id, clients.spec.id, False)
    async with db.unit_of_work() as session:
        after = await service.compiled_rules(session, demo.workspace_id)
        assert after is not first
        assert "Clients" not in [r.spec.name for r in after.rules]
        contact = await new_contact(session, demo.workspace_id, attributes={"client": True})
        conv = await new_conversation(
            session, demo.workspace_id, contact.id, demo.inbox_id, "webchat",
            queues["First line"],
        )  # fmt: skip
        assert await service.route_new_conversation(session, conv, first_text="hi") is None


async def test_deleted_queue_is_not_applied(demo: Demo, queues: dict[str, int]) -> None:
    from omniline.workspaces.models import Queue

    async with db.unit_of_work() as session:
        tm = await session.get_one(Queue, queues["Telemarketing"])
        await session.delete(tm)
    async with db.unit_of_work() as session:
        contact = await new_contact(session, demo.workspace_id)
        conv = await new_conversation(
            session, demo.workspace_id, contact.id, queues["email_inbox"], "email", queues["Mail"]
        )
        d = await service.route_new_conversation(
            session, conv, first_text="hi", to_address=TELEMARKETING
        )
    assert d is not None and d.rule_name == "Telemarketing" and d.queue_id is None
    assert conv.queue_id == queues["Mail"] and conv.tags == ["telemarketing"]


async def test_dry_run_traces_every_rule_and_changes_nothing(
    demo: Demo, queues: dict[str, int]
) -> None:
    async with db.unit_of_work() as session:
        olena = await new_contact(
            session, demo.workspace_id, attributes={"client": True}, external_id="crm-1"
        )
        result = await service.dry_run(
            session, demo.workspace_id, olena.id, "Hello", queues["email_inbox"],
            to_address=MAIL,
        )  # fmt: skip
    assert result["matched_rule"]["name"] == "Clients"
    assert result["decision"]["queue_name"] == "Business assistants"
    trace = {t["rule_name"]: t for t in result["trace"]}
    assert trace["Telemarketing"]["matched"] is False
    assert trace["Telemarketing"]["failed_condition"]["description"] == (f"mailbox {TELEMARKETING}")
    assert trace["Clients"]["winner"] is True
    assert trace["Mail"]["matched"] is True and trace["Mail"]["winner"] is False
    assert [t["rule_name"] for t in result["trace"]][:2] == ["Telemarketing", "Clients"]


async def test_routing_with_cached_rules_reads_once(demo: Demo, queues: dict[str, int]) -> None:
    """Hot path: one SELECT (rule version, contact, its events); the writes when a rule wins."""
    from tests.conversations.test_staff_api import count_queries

    async with db.unit_of_work() as session:
        contact = await new_contact(session, demo.workspace_id, attributes={"client": True})
        stranger = await new_contact(session, demo.workspace_id)
        convs = [
            await new_conversation(
                session, demo.workspace_id, c.id, demo.inbox_id, "webchat", queues["First line"]
            )
            for c in (contact, stranger, stranger)
        ]
        await service.decide(session, convs[0], first_text="warm the cache")
        with count_queries() as statements:
            assert await service.route_new_conversation(session, convs[1], first_text="hi") is None
        assert [s.split()[0] for s in statements] == ["SELECT"]
        with count_queries() as statements:
            decision = await service.route_new_conversation(session, convs[0], first_text="hi")
        assert decision is not None
        assert [s.split()[0] for s in statements] == ["SELECT", "UPDATE", "INSERT", "INSERT"]
