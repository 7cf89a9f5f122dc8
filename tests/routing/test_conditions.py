"""The pure evaluator, table-driven: each condition type, rule order, the trace."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from omniline.routing.conditions import (
    Context,
    RuleSpec,
    compile_condition,
    compile_rules,
    evaluate,
    trace,
)
from omniline.routing.schemas import Actions, conditions_adapter

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def ctx(**kw: Any) -> Context:
    return Context(now=NOW, **kw)


def check(cond: dict[str, Any], context: Context) -> bool:
    (c,) = conditions_adapter.validate_python([cond])
    return compile_condition(c)(context)


CASES: list[tuple[str, dict[str, Any], Context, bool]] = [
    # attribute
    ("client = true", {"type": "attribute", "key": "client", "value": True},
     ctx(attributes={"client": True}), True),
    ("client = true, CRM sends a string", {"type": "attribute", "key": "client", "value": True},
     ctx(attributes={"client": "TRUE"}), True),
    ("client = true, not a client", {"type": "attribute", "key": "client", "value": True},
     ctx(attributes={"client": False}), False),
    ("client = true, no attribute", {"type": "attribute", "key": "client", "value": True},
     ctx(), False),
    ("neq matches a missing attribute",
     {"type": "attribute", "key": "segment", "operator": "neq", "value": "vip"}, ctx(), True),
    ("neq refuses the value",
     {"type": "attribute", "key": "segment", "operator": "neq", "value": "vip"},
     ctx(attributes={"segment": "VIP"}), False),
    ("in", {"type": "attribute", "key": "segment", "operator": "in", "value": ["a", "b"]},
     ctx(attributes={"segment": "b"}), True),
    ("in, multi-valued field",
     {"type": "attribute", "key": "products", "operator": "in", "value": ["loan"]},
     ctx(attributes={"products": ["card", "loan"]}), True),
    ("exists", {"type": "attribute", "key": "inn", "operator": "exists"},
     ctx(attributes={"inn": "123"}), True),
    ("exists, null", {"type": "attribute", "key": "inn", "operator": "exists"},
     ctx(attributes={"inn": None}), False),
    ("gt", {"type": "attribute", "key": "debt", "operator": "gt", "value": 1000},
     ctx(attributes={"debt": "1500.5"}), True),
    ("gt, not a number", {"type": "attribute", "key": "debt", "operator": "gt", "value": 1000},
     ctx(attributes={"debt": "lots"}), False),
    ("lt", {"type": "attribute", "key": "debt", "operator": "lt", "value": 1000},
     ctx(attributes={"debt": 10}), True),
    # event
    ("event within 30 days", {"type": "event", "name": "contract_signed", "within_days": 30},
     ctx(events={"contract_signed": NOW - timedelta(days=29)}), True),
    ("event too old", {"type": "event", "name": "contract_signed", "within_days": 30},
     ctx(events={"contract_signed": NOW - timedelta(days=31)}), False),
    ("event ever", {"type": "event", "name": "contract_signed"},
     ctx(events={"contract_signed": NOW - timedelta(days=900)}), True),
    ("event missing", {"type": "event", "name": "contract_signed"}, ctx(), False),
    # inbox, channel, mailbox
    ("inbox", {"type": "inbox", "inbox_ids": [3, 4]}, ctx(inbox_id=4), True),
    ("other inbox", {"type": "inbox", "inbox_ids": [3]}, ctx(inbox_id=4), False),
    ("channel", {"type": "channel", "channels": ["Email"]}, ctx(channel="email"), True),
    ("channel no", {"type": "channel", "channels": ["email"]}, ctx(channel="webchat"), False),
    ("mailbox any case", {"type": "mailbox", "addresses": ["Telemarketing@Bank.example"]},
     ctx(to_address="telemarketing@bank.EXAMPLE"), True),
    ("mailbox no address", {"type": "mailbox", "addresses": ["mail@bank.example"]}, ctx(), False),
    # language, country, topic
    ("language", {"type": "language", "languages": ["uk", "ru"]}, ctx(language="UK"), True),
    ("language unknown", {"type": "language", "languages": ["uk"]}, ctx(), False),
    ("country", {"type": "country", "countries": ["ua"]}, ctx(country="UA"), True),
    ("country other", {"type": "country", "countries": ["UA"]}, ctx(country="PL"), False),
    ("topic", {"type": "topic", "topics": ["Cash registers"]}, ctx(topic="cash registers"), True),
    # keywords
    ("keyword, any case", {"type": "keywords", "keywords": ["refund"]},
     ctx(first_text="I want a REFUND now"), True),
    ("keyword is a whole word", {"type": "keywords", "keywords": ["card"]},
     ctx(first_text="my cardboard box"), False),
    ("keyword phrase", {"type": "keywords", "keywords": ["credit card"]},
     ctx(first_text="lost my Credit  Card!"), True),
    ("Cyrillic keyword", {"type": "keywords", "keywords": ["касса"]},
     ctx(first_text="Не работает КАССА, помогите"), True),
    ("Cyrillic whole word", {"type": "keywords", "keywords": ["касса"]},
     ctx(first_text="кассами не пользуюсь"), False),
    ("Ukrainian with apostrophe-free word", {"type": "keywords", "keywords": ["каса", "рахунок"]},
     ctx(first_text="Де мій рахунок?"), True),
    ("keywords, empty text", {"type": "keywords", "keywords": ["a"]}, ctx(), False),
    # business hours
    ("open calendar, wants open", {"type": "business_hours", "calendar_id": 1, "open": True},
     ctx(business={1: True}), True),
    ("closed calendar, wants closed", {"type": "business_hours", "calendar_id": 1, "open": False},
     ctx(business={1: False}), True),
    ("closed calendar, wants open", {"type": "business_hours", "calendar_id": 1},
     ctx(business={1: False}), False),
    ("unknown calendar", {"type": "business_hours", "calendar_id": 1}, ctx(), False),
]  # fmt: skip


@pytest.mark.parametrize(("label", "cond", "context", "expected"), CASES, ids=[c[0] for c in CASES])
def test_condition(label: str, cond: dict[str, Any], context: Context, expected: bool) -> None:
    assert check(cond, context) is expected


def spec(rid: int, name: str, priority: int, conds: list[dict[str, Any]], **kw: Any) -> RuleSpec:
    return RuleSpec(
        id=rid,
        name=name,
        priority=priority,
        position=kw.pop("position", rid),
        enabled=kw.pop("enabled", True),
        conditions=conditions_adapter.validate_python(conds),
        actions=Actions.model_validate(kw.pop("actions", {"queue_id": rid})),
    )


MAIL = spec(1, "Mail", 10, [{"type": "channel", "channels": ["email"]}])
TELE = spec(
    2, "Telemarketing", 50, [{"type": "mailbox", "addresses": ["telemarketing@bank.example"]}]
)


def test_higher_priority_wins_whatever_the_position() -> None:
    compiled = compile_rules([MAIL, TELE])
    letter = ctx(channel="email", to_address="telemarketing@bank.example")
    winner = evaluate(compiled, letter)
    assert winner is not None and winner.name == "Telemarketing"
    other = evaluate(compiled, ctx(channel="email", to_address="mail@bank.example"))
    assert other is not None and other.name == "Mail"


def test_equal_priority_goes_by_position_and_disabled_rules_never_match() -> None:
    a = spec(1, "A", 5, [{"type": "channel", "channels": ["webchat"]}], position=2)
    b = spec(2, "B", 5, [{"type": "channel", "channels": ["webchat"]}], position=1)
    c = spec(3, "C", 9, [{"type": "channel", "channels": ["webchat"]}], enabled=False)
    winner = evaluate(compile_rules([a, b, c]), ctx(channel="webchat"))
    assert winner is not None and winner.name == "B"


def test_all_conditions_must_match() -> None:
    rule = spec(
        1,
        "UA clients",
        1,
        [
            {"type": "attribute", "key": "client", "value": True},
            {"type": "country", "countries": ["UA"]},
        ],
    )
    compiled = compile_rules([rule])
    assert evaluate(compiled, ctx(attributes={"client": True}, country="UA")) is not None
    assert evaluate(compiled, ctx(attributes={"client": True}, country="PL")) is None


def test_trace_names_the_failing_condition() -> None:
    rule = spec(
        1,
        "UA clients",
        1,
        [
            {"type": "attribute", "key": "client", "value": True},
            {"type": "country", "countries": ["UA"]},
        ],
    )
    off = spec(2, "Off", 1, [{"type": "country", "countries": ["UA"]}], enabled=False)
    rows = trace(compile_rules([rule, off]), ctx(attributes={"client": True}, country="PL"))
    assert [(t.rule.name, t.matched, t.failed_index, t.skipped) for t in rows] == [
        ("UA clients", False, 1, False),
        ("Off", False, None, True),
    ]


def test_compiled_rules_know_which_events_and_calendars_they_need() -> None:
    rule = spec(
        1,
        "R",
        1,
        [
            {"type": "event", "name": "contract_signed", "within_days": 3},
            {"type": "business_hours", "calendar_id": 7},
        ],
    )
    compiled = compile_rules([rule])
    assert compiled.event_names == {"contract_signed"}
    assert compiled.calendar_ids == {7}
