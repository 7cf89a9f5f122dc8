"""Bad rules are refused with a message naming the field."""

from __future__ import annotations

from typing import Any

import pytest

from omniline.errors import Invalid
from omniline.routing.schemas import parse_rule

GOOD_COND = {"type": "attribute", "key": "client", "value": True}


def rule(**kw: Any) -> dict[str, Any]:
    return {"name": "Clients", "conditions": [GOOD_COND], "actions": {"queue_id": 1}, **kw}


BAD: list[tuple[str, dict[str, Any], str, str]] = [
    ("empty conditions", rule(conditions=[]), "conditions", "at least one condition"),
    ("unknown type", rule(conditions=[{"type": "moon_phase"}]), "conditions[0].type",
     "unknown condition type"),
    ("no type", rule(conditions=[{"key": "client"}]), "conditions[0].type", "which type"),
    ("empty keywords", rule(conditions=[{"type": "keywords", "keywords": []}]),
     "conditions[0].keywords", "at least one value"),
    ("blank keyword", rule(conditions=[{"type": "keywords", "keywords": ["loan", " "]}]),
     "conditions[0].keywords", "empty"),
    ("empty attribute value",
     rule(conditions=[{"type": "attribute", "key": "client", "value": ""}]),
     "conditions[0].value", "empty"),
    ("no attribute value", rule(conditions=[{"type": "attribute", "key": "client"}]),
     "conditions[0].value", "empty"),
    ("empty attribute key", rule(conditions=[{"type": "attribute", "key": "", "value": 1}]),
     "conditions[0].key", "at least 1"),
    ("gt on text", rule(conditions=[{"type": "attribute", "key": "d", "operator": "gt",
                                     "value": "x"}]), "conditions[0].value", "number"),
    ("negative within_days", rule(conditions=[GOOD_COND, {"type": "event", "name": "x",
                                                          "within_days": -1}]),
     "conditions[1].within_days", "greater than or equal to 1"),
    ("empty inbox ids", rule(conditions=[{"type": "inbox", "inbox_ids": []}]),
     "conditions[0].inbox_ids", "at least 1"),
    ("bad mailbox", rule(conditions=[{"type": "mailbox", "addresses": ["telemarketing"]}]),
     "conditions[0].addresses", "@"),
    ("bad country", rule(conditions=[{"type": "country", "countries": ["Ukraine"]}]),
     "conditions[0].countries", "two-letter"),
    ("priority over 100", rule(priority=101), "priority", "less than or equal to 100"),
    ("negative priority", rule(priority=-1), "priority", "greater than or equal to 0"),
    ("action priority over 100", rule(actions={"priority": 500}), "actions.priority",
     "less than or equal to 100"),
    ("no action", rule(actions={}), "actions", "at least one action"),
    ("empty name", rule(name="  "), "name", "at least 1"),
    ("unknown field", rule(colour="red"), "colour", "not permitted"),
]  # fmt: skip


@pytest.mark.parametrize(("label", "data", "field", "words"), BAD, ids=[b[0] for b in BAD])
def test_refused(label: str, data: dict[str, Any], field: str, words: str) -> None:
    with pytest.raises(Invalid) as err:
        parse_rule(data)
    fields = {f["field"]: f["message"] for f in err.value.fields}
    assert field in fields, fields
    assert words in fields[field]


def test_good_rule_is_normalised() -> None:
    r = parse_rule(
        rule(
            conditions=[
                {"type": "keywords", "keywords": [" Refund ", "refund", "Касса"]},
                {"type": "country", "countries": ["ua"]},
            ],
            actions={"queue_id": 1, "tags": ["VIP", "vip", "client"], "language": "UK"},
        )
    )
    assert r.conditions[0].keywords == ["refund", "касса"]  # type: ignore[union-attr]
    assert r.conditions[1].countries == ["UA"]  # type: ignore[union-attr]
    assert r.actions.tags == ["client", "vip"]
    assert r.actions.language == "uk"
