"""The pure evaluator: compiled rules against a routing context, no database, no clock.

Rules are compiled once per workspace version (``compile_rules``) into closures, so
routing a conversation is a loop of cheap checks; the keyword regexes are built here,
not per message.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from omniline.routing.schemas import (
    Actions,
    AttributeCondition,
    BusinessHoursCondition,
    ChannelCondition,
    Condition,
    CountryCondition,
    EventCondition,
    InboxCondition,
    KeywordsCondition,
    LanguageCondition,
    MailboxCondition,
    TopicCondition,
)


@dataclass(slots=True)
class Context:
    """What routing knows about a new conversation. Strings are compared case-insensitively.

    ``events`` maps an event name to its latest time; ``business`` maps a calendar id
    to whether it is open at ``now`` (filled only for calendars the rules use).
    """

    now: datetime
    inbox_id: int | None = None
    channel: str | None = None
    to_address: str | None = None
    language: str | None = None
    country: str | None = None
    topic: str | None = None
    first_text: str = ""
    attributes: Mapping[str, Any] = field(default_factory=dict)
    events: Mapping[str, datetime] = field(default_factory=dict)
    business: Mapping[int, bool] = field(default_factory=dict)


Check = Callable[[Context], bool]


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """A stored rule as the evaluator needs it (already validated)."""

    id: int
    name: str
    priority: int
    position: int
    enabled: bool
    conditions: Sequence[Condition]
    actions: Actions


@dataclass(frozen=True, slots=True)
class CompiledRule:
    spec: RuleSpec
    checks: tuple[Check, ...]


@dataclass(frozen=True, slots=True)
class CompiledRules:
    """Enabled rules in evaluation order, and what the context must carry for them."""

    rules: tuple[CompiledRule, ...]
    disabled: tuple[RuleSpec, ...] = ()
    event_names: frozenset[str] = frozenset()
    calendar_ids: frozenset[int] = frozenset()


def _norm(v: Any) -> str:
    """One comparable form for CRM values: ``True``, ``"true"`` and ``"TRUE"`` are equal."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v).strip().casefold()


def _number(v: Any) -> float | None:
    if isinstance(v, bool) or v is None:
        return None
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def _attribute(c: AttributeCondition) -> Check:
    key, op = c.key, c.operator
    if op == "exists":
        return lambda ctx: ctx.attributes.get(key) is not None
    if op in ("gt", "lt"):
        bound = float(c.value)  # type: ignore[arg-type]  # validated as a number
        if op == "gt":
            return lambda ctx: (n := _number(ctx.attributes.get(key))) is not None and n > bound
        return lambda ctx: (n := _number(ctx.attributes.get(key))) is not None and n < bound
    values = c.value if isinstance(c.value, list) else [c.value]
    wanted = frozenset(_norm(v) for v in values)

    def matches(ctx: Context) -> bool:
        have = ctx.attributes.get(key)
        if isinstance(have, list):  # a multi-valued CRM field matches when any value does
            return any(_norm(h) in wanted for h in have)
        return have is not None and _norm(have) in wanted

    if op == "neq":
        return lambda ctx: not matches(ctx)
    return matches


def _event(c: EventCondition) -> Check:
    name, days = c.name, c.within_days
    if days is None:
        return lambda ctx: name in ctx.events
    span = timedelta(days=days)

    def check(ctx: Context) -> bool:
        at = ctx.events.get(name)
        return at is not None and ctx.now - at <= span

    return check


def _one_of(values: Sequence[str], attr: str) -> Check:
    wanted = frozenset(v.casefold() for v in values)

    def check(ctx: Context) -> bool:
        have = getattr(ctx, attr)
        return have is not None and have.strip().casefold() in wanted

    return check


def keyword_pattern(keywords: Sequence[str]) -> re.Pattern[str]:
    """Whole words or phrases, any case, any script: ``\\w`` is Unicode, so Cyrillic works."""
    alts = "|".join(
        r"\s+".join(re.escape(w) for w in kw.split())
        for kw in sorted(keywords, key=len, reverse=True)
    )
    return re.compile(rf"(?<!\w)(?:{alts})(?!\w)", re.IGNORECASE)


def _keywords(c: KeywordsCondition) -> Check:
    pattern = keyword_pattern(c.keywords)
    return lambda ctx: bool(ctx.first_text) and pattern.search(ctx.first_text) is not None


def _business(c: BusinessHoursCondition) -> Check:
    cal, want_open = c.calendar_id, c.open
    # An unknown answer (calendar deleted meanwhile) matches neither open nor closed.
    return lambda ctx: cal in ctx.business and ctx.business[cal] is want_open


def compile_condition(c: Condition) -> Check:
    match c:
        case AttributeCondition():
            return _attribute(c)
        case EventCondition():
            return _event(c)
        case InboxCondition():
            ids = frozenset(c.inbox_ids)
            return lambda ctx: ctx.inbox_id in ids
        case ChannelCondition():
            return _one_of(c.channels, "channel")
        case MailboxCondition():
            return _one_of(c.addresses, "to_address")
        case LanguageCondition():
            return _one_of(c.languages, "language")
        case CountryCondition():
            return _one_of(c.countries, "country")
        case TopicCondition():
            return _one_of(c.topics, "topic")
        case KeywordsCondition():
            return _keywords(c)
        case BusinessHoursCondition():
            return _business(c)
    raise TypeError(f"unknown condition {c!r}")  # pragma: no cover - the union is closed


def order_key(spec: RuleSpec) -> tuple[int, int, int]:
    """Higher priority first; equal priorities by position, then by age."""
    return (-spec.priority, spec.position, spec.id)


def compile_rules(specs: Sequence[RuleSpec]) -> CompiledRules:
    ordered = sorted(specs, key=order_key)
    enabled = [s for s in ordered if s.enabled]
    events: set[str] = set()
    calendars: set[int] = set()
    for s in enabled:
        for c in s.conditions:
            if isinstance(c, EventCondition):
                events.add(c.name)
            elif isinstance(c, BusinessHoursCondition):
                calendars.add(c.calendar_id)
    return CompiledRules(
        rules=tuple(
            CompiledRule(s, tuple(compile_condition(c) for c in s.conditions)) for s in enabled
        ),
        disabled=tuple(s for s in ordered if not s.enabled),
        event_names=frozenset(events),
        calendar_ids=frozenset(calendars),
    )


def evaluate(compiled: CompiledRules, ctx: Context) -> RuleSpec | None:
    """The first rule (in priority order) whose conditions ALL match, or None."""
    for rule in compiled.rules:
        for check in rule.checks:
            if not check(ctx):
                break
        else:
            return rule.spec
    return None


@dataclass(frozen=True, slots=True)
class RuleTrace:
    rule: RuleSpec
    matched: bool
    failed_index: int | None  # the first condition that did not match
    skipped: bool = False  # disabled


def trace(compiled: CompiledRules, ctx: Context) -> list[RuleTrace]:
    """Every rule's outcome, for the dry run (enabled rules first, in evaluation order)."""
    out: list[RuleTrace] = []
    for rule in compiled.rules:
        failed = next((i for i, check in enumerate(rule.checks) if not check(ctx)), None)
        out.append(RuleTrace(rule.spec, failed is None, failed))
    out.extend(RuleTrace(s, False, None, skipped=True) for s in compiled.disabled)
    return out


def describe(c: Condition) -> str:
    """A short plain-text summary of a condition (admin list, dry-run trace)."""
    match c:
        case AttributeCondition():
            if c.operator == "exists":
                return f"attribute {c.key} exists"
            value = ", ".join(map(str, c.value)) if isinstance(c.value, list) else c.value
            return f"attribute {c.key} {c.operator} {_show(value)}"
        case EventCondition():
            when = f" within {c.within_days} days" if c.within_days else ""
            return f"event {c.name}{when}"
        case InboxCondition():
            return "inbox " + ", ".join(map(str, c.inbox_ids))
        case BusinessHoursCondition():
            return f"calendar {c.calendar_id} is {'open' if c.open else 'closed'}"
    values: list[str] = getattr(c, _LIST_FIELD[c.type])
    return f"{c.type} " + ", ".join(values)


_LIST_FIELD = {
    "channel": "channels",
    "mailbox": "addresses",
    "language": "languages",
    "country": "countries",
    "topic": "topics",
    "keywords": "keywords",
}


def _show(v: Any) -> str:
    return _norm(v) if isinstance(v, bool) else str(v)
