"""Auto-reply texts with ``{variables}``: validated when saved, rendered without ever failing.

Our own small parser rather than ``str.format``: ``format`` would let an admin write
``{contact_name.__class__}`` or ``{position:>999999999}``. Only ``{name}`` of a known
variable is a placeholder; ``{{`` and ``}}`` stand for literal braces. Values are
plain text: the widget and every channel escape what they show.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from omniline.autoreplies.models import Kind
from omniline.errors import Invalid

VARIABLES = (
    "contact_name",
    "queue_name",
    "agent_name",
    "position",
    "wait_minutes",
    "sla_minutes",
    "business_hours",
    "inbox_name",
)
_COMMON = {"contact_name", "queue_name", "inbox_name", "sla_minutes", "business_hours"}
_QUEUEING = _COMMON | {"position", "wait_minutes"}
# What is known when each kind is sent: nobody has answered before a greeting, and
# a queue position means nothing once the conversation is resolved.
AVAILABLE: dict[str, frozenset[str]] = {
    Kind.greeting.value: frozenset(_QUEUEING),
    Kind.out_of_hours.value: frozenset(_QUEUEING),
    Kind.high_load.value: frozenset(_QUEUEING),
    Kind.closing.value: frozenset(_COMMON | {"agent_name"}),
}
MAX_CHARS = 2000

_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")


class TemplateError(ValueError):
    pass


def variables_in(text: str) -> list[str]:
    """The variable names a text uses, in order; raises TemplateError on a stray brace."""
    names: list[str] = []
    for m in _TOKEN.finditer(text):
        token = m.group(0)
        if token in ("{{", "}}"):
            continue
        if token in ("{", "}"):
            raise TemplateError(
                "has a lone brace; write {{ or }} for a literal brace, {name} for a variable"
            )
        names.append(m.group(1).strip())
    return names


def check_text(field: str, text: str, kind: str) -> str:
    """Refuse a text that cannot be sent well: empty, too long, unknown or unavailable variables."""
    clean = text.strip()
    if not clean:
        raise Invalid(field, "must not be empty")
    if len(clean) > MAX_CHARS:
        raise Invalid(field, f"must be at most {MAX_CHARS} characters")
    try:
        names = variables_in(clean)
    except TemplateError as exc:
        raise Invalid(field, str(exc)) from None
    allowed = AVAILABLE[kind]
    for name in names:
        if name not in VARIABLES:
            known = ", ".join("{" + v + "}" for v in sorted(allowed))
            raise Invalid(field, f"unknown variable {{{name}}}; use one of {known}")
        if name not in allowed:
            raise Invalid(
                field, f"the variable {{{name}}} has no value in a {kind.replace('_', ' ')} message"
            )
    return clean


def render(text: str, values: Mapping[str, object]) -> str:
    """Fill the variables in; a missing or unknown one becomes empty text, never an error."""

    def sub(m: re.Match[str]) -> str:
        token = m.group(0)
        if token == "{{":
            return "{"
        if token == "}}":
            return "}"
        name = m.group(1)
        if name is None:
            return token
        value = values.get(name.strip())
        return "" if value is None else str(value)

    return _TOKEN.sub(sub, text)


SAMPLE_VALUES: dict[str, object] = {
    "contact_name": "Olena Kovalenko",
    "queue_name": "First line",
    "agent_name": "Anna Agent",
    "position": 4,
    "wait_minutes": 12,
    "sla_minutes": 10,
    "business_hours": "Mon-Fri 08:00-20:00",
    "inbox_name": "Website chat",
}


def schema_pattern(names: frozenset[str] | tuple[str, ...]) -> str:
    """A JSON Schema pattern for the texts :func:`check_text` accepts with these variables:
    not blank; ``{{``, ``}}``, ``{name}`` of one of ``names``, and no other brace. One plain
    pattern (no lookahead, no second pattern): schemathesis's generator stalls on those."""
    variable = r"\{\s*(?:" + "|".join(sorted(names)) + r")\s*\}"
    return rf"^\s*(?:[^\s{{}}]|\{{\{{|\}}\}}|{variable})(?:[^{{}}]|\{{\{{|\}}\}}|{variable})*$"
