"""The flow document: a graph of nodes, every customer-facing text in each enabled language.

This is the JSON a flow is saved, exported and imported as (``docs/bots.md`` documents it).
The models check shapes only (types, lengths, known node types), strictly as JSON Schema reads
them (``"2"`` is not a number, ``2.0`` is a whole one), and their schema is the API's; whether
the graph makes sense (edges that lead somewhere, translations, variables) is
:mod:`omniline.bots.validator`'s job, so that a draft with mistakes can still be saved and
shown with its errors marked.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from omniline.kit.ids import WHOLE
from omniline.kit.placeholders import PLACEHOLDER

SCHEMA: Literal["omniline-flow/1"] = "omniline-flow/1"

NodeId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]
VAR_NAME = r"^[A-Za-z_][A-Za-z0-9_]{0,63}$"
VarName = Annotated[str, StringConstraints(pattern=VAR_NAME)]
LANG_CODE = r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$"
LangCode = Annotated[str, StringConstraints(pattern=LANG_CODE)]
# Every key a language code: pydantic states a dict's key pattern only as patternProperties,
# which leaves other keys free in the schema.
BY_LANGUAGE = Field(json_schema_extra={"propertyNames": {"pattern": LANG_CODE}})
# A text per language: {"ru": "...", "en": "..."}.
Text = Annotated[dict[LangCode, Annotated[str, StringConstraints(max_length=4000)]], BY_LANGUAGE]
Label = Annotated[dict[LangCode, Annotated[str, StringConstraints(max_length=200)]], BY_LANGUAGE]

# Names every flow can read without setting them.
BUILTIN_VARIABLES = frozenset(
    {
        "contact.name",
        "contact.email",
        "contact.phone",
        "contact.external_id",
        "channel",
        "language",
        "first_message",
        "last_message",
        "conversation.id",
        # This installation's own address (settings.public_base_url), for its own endpoints.
        "omniline.base_url",
    }
)


class _Node(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    id: NodeId
    title: Annotated[str, StringConstraints(max_length=120)] = ""
    # Where the builder draws the node; the runtime ignores it.
    position: dict[Literal["x", "y"], float] = Field(default_factory=dict)


class Button(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    label: Label
    next: NodeId | None = None
    url: Annotated[str, StringConstraints(max_length=2000)] | None = None


class Media(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    url: Annotated[str, StringConstraints(min_length=1, max_length=2000)]
    caption: Label = Field(default_factory=dict)


class MessageNode(_Node):
    """Text with buttons (quick replies) or links, and media; then ``next``."""

    type: Literal["message"]
    text: Text = Field(default_factory=dict)
    buttons: list[Button] = Field(default_factory=list, max_length=20)
    media: list[Media] = Field(default_factory=list, max_length=10)
    next: NodeId | None = None


class MenuOption(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    label: Label
    next: NodeId | None = None
    # Extra words that pick this option when typed ("credit holidays", "каникулы").
    synonyms: Annotated[
        dict[LangCode, list[Annotated[str, StringConstraints(max_length=100)]]], BY_LANGUAGE
    ] = Field(default_factory=dict)
    # Choosing the option switches the conversation's language (a language menu).
    set_language: LangCode | None = None


class MenuNode(_Node):
    """A question with choices, each to its branch; digits on the phone, numbers in email.

    Free text that names no option goes to the FAQ when ``faq`` is on, then to
    ``no_match`` after ``retries`` misses (the runtime's second miss hands over otherwise).
    """

    type: Literal["menu"]
    text: Text = Field(default_factory=dict)
    options: list[MenuOption] = Field(default_factory=list, max_length=20)
    faq: bool = False
    retries: Annotated[int, Field(ge=0, le=5), WHOLE] = 1
    no_match: NodeId | None = None


Check = Literal["text", "phone", "email", "date", "number", "choice", "pattern"]


class AskNode(_Node):
    """Ask a question and keep the answer in ``variable`` once it passes ``check``."""

    type: Literal["ask"]
    text: Text = Field(default_factory=dict)
    variable: VarName
    check: Check = "text"
    pattern: Annotated[str, StringConstraints(max_length=500)] | None = None
    choices: list[Annotated[str, StringConstraints(max_length=100)]] = Field(
        default_factory=list, max_length=50
    )
    retry_text: Text = Field(default_factory=dict)
    retries: Annotated[int, Field(ge=0, le=5), WHOLE] = 2
    next: NodeId | None = None
    # Where to go when every retry failed; without it the conversation goes to a person.
    failed: NodeId | None = None


Op = Literal["eq", "ne", "in", "not_in", "contains", "gt", "gte", "lt", "lte", "exists", "matches"]


class Condition(BaseModel):
    """One test. ``subject``: ``var.NAME``, ``contact.FIELD``, ``contact.attributes.KEY``,
    ``channel``, ``language``, ``event.NAME`` (the contact had that event), or
    ``business_hours`` (``value`` is a calendar id; true when the calendar is open now)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    subject: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    op: Op = "eq"
    value: Any = None


class Branch(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    # Every condition must hold (an empty list always holds).
    all: list[Condition] = Field(default_factory=list, max_length=20)
    next: NodeId | None = None


class ConditionNode(_Node):
    type: Literal["condition"]
    branches: list[Branch] = Field(default_factory=list, max_length=20)
    otherwise: NodeId | None = None


class HttpNode(_Node):
    """Call the lender's system. Headers may name stored secrets as ``{{secret.NAME}}``.

    ``save`` maps a variable to a dotted path in the JSON answer (``data.status``,
    ``items.0.amount``). A timeout, a status outside 2xx, an answer that is not JSON or
    lacks a saved path all take ``error``.
    """

    type: Literal["http"]
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = "GET"
    url: Annotated[str, StringConstraints(min_length=1, max_length=2000)]
    headers: dict[
        Annotated[str, StringConstraints(min_length=1, max_length=100)],
        Annotated[str, StringConstraints(max_length=2000)],
    ] = Field(default_factory=dict)
    body: Any = None
    save: dict[VarName, Annotated[str, StringConstraints(min_length=1, max_length=200)]] = Field(
        default_factory=dict, json_schema_extra={"propertyNames": {"pattern": VAR_NAME}}
    )
    timeout_seconds: float = Field(default=5.0, gt=0, le=30)
    next: NodeId | None = None
    error: NodeId | None = None


class SetNode(_Node):
    """Set a flow variable, a contact attribute, or add a tag to the conversation."""

    type: Literal["set"]
    target: Literal["variable", "attribute", "tag"] = "variable"
    name: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    value: Annotated[str, StringConstraints(max_length=2000)] = ""
    next: NodeId | None = None


class FaqNode(_Node):
    """Answer the customer's last free text from the flow's FAQ intents.

    Goes to ``next`` after an answer, to ``miss`` when no intent is confident enough.
    ``text`` (optional) asks the question first and waits for it.
    """

    type: Literal["faq"]
    text: Text = Field(default_factory=dict)
    next: NodeId | None = None
    miss: NodeId | None = None


class HandoffNode(_Node):
    """Hand the conversation to routing, then a person, with every variable."""

    type: Literal["handoff"]
    text: Text = Field(default_factory=dict)
    topic: Annotated[str, StringConstraints(max_length=100)] | None = None
    priority: Annotated[int, Field(ge=0, le=10), WHOLE] | None = None
    queue: Annotated[str, StringConstraints(max_length=200)] | None = None


class EndNode(_Node):
    type: Literal["end"]
    text: Text = Field(default_factory=dict)
    # Ask the satisfaction question of the surveys issue after resolving (a hook for it).
    survey: bool = False


class JumpNode(_Node):
    """Continue in another flow of the workspace (its published version), at its start."""

    type: Literal["jump"]
    flow: Annotated[str, StringConstraints(min_length=1, max_length=64)]


Node = Annotated[
    MessageNode
    | MenuNode
    | AskNode
    | ConditionNode
    | HttpNode
    | SetNode
    | FaqNode
    | HandoffNode
    | EndNode
    | JumpNode,
    Field(discriminator="type"),
]

INPUT_TYPES = frozenset({"menu", "ask"})


class Intent(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    key: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]
    examples: Annotated[
        dict[LangCode, list[Annotated[str, StringConstraints(max_length=500)]]], BY_LANGUAGE
    ] = Field(default_factory=dict)
    answer: Text = Field(default_factory=dict)


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    # Words that hand over at any point; matched whole, case-insensitive.
    escalation_words: list[Annotated[str, StringConstraints(min_length=1, max_length=60)]] = Field(
        default_factory=lambda: [
            "operator",
            "agent",
            "human",
            "оператор",
            "людина",
            "человек",
            "оператора",
        ],
        max_length=50,
    )
    # Silence: a reminder after this many seconds, then the conversation is closed.
    reminder_seconds: Annotated[int, Field(ge=10, le=86_400), WHOLE] = 300
    close_seconds: Annotated[int, Field(ge=10, le=7 * 86_400), WHOLE] = 900
    reminder_text: Text = Field(default_factory=dict)
    not_understood_text: Text = Field(default_factory=dict)
    handoff_text: Text = Field(default_factory=dict)


class Graph(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    schema_: Literal["omniline-flow/1"] = Field(default=SCHEMA, alias="schema")
    languages: list[LangCode] = Field(default_factory=lambda: ["en"], min_length=1, max_length=20)
    # Used when the conversation's language is not one of ``languages``.
    fallback_language: LangCode = "en"
    start: NodeId | None = None
    nodes: list[Node] = Field(default_factory=list, max_length=500)
    faq: list[Intent] = Field(default_factory=list, max_length=500)
    settings: Settings = Field(default_factory=Settings)

    def by_id(self) -> dict[str, Any]:
        return {n.id: n for n in self.nodes}

    def dump(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


def edges(node: Any) -> Iterator[tuple[str, str]]:
    """(what the edge is, target id) of every outgoing edge of a node."""
    if isinstance(node, MessageNode):
        for i, b in enumerate(node.buttons):
            if b.next:
                yield f"buttons[{i}]", b.next
        if node.next:
            yield "next", node.next
    elif isinstance(node, MenuNode):
        for i, o in enumerate(node.options):
            if o.next:
                yield f"options[{i}]", o.next
        if node.no_match:
            yield "no_match", node.no_match
    elif isinstance(node, AskNode):
        if node.next:
            yield "next", node.next
        if node.failed:
            yield "failed", node.failed
    elif isinstance(node, ConditionNode):
        for i, br in enumerate(node.branches):
            if br.next:
                yield f"branches[{i}]", br.next
        if node.otherwise:
            yield "otherwise", node.otherwise
    elif isinstance(node, HttpNode):
        if node.next:
            yield "next", node.next
        if node.error:
            yield "error", node.error
    elif isinstance(node, SetNode):
        if node.next:
            yield "next", node.next
    elif isinstance(node, FaqNode):
        if node.next:
            yield "next", node.next
        if node.miss:
            yield "miss", node.miss


def texts(node: Any) -> Iterator[tuple[str, dict[str, str]]]:
    """(field, text per language) of every customer-facing text of a node."""
    text = getattr(node, "text", None)
    if isinstance(text, dict) and (text or node.type in ("message", "menu", "ask")):
        yield "text", text
    if isinstance(node, MessageNode):
        for i, b in enumerate(node.buttons):
            yield f"buttons[{i}].label", b.label
        for i, m in enumerate(node.media):
            if m.caption:
                yield f"media[{i}].caption", m.caption
    if isinstance(node, MenuNode):
        for i, o in enumerate(node.options):
            yield f"options[{i}].label", o.label
    if isinstance(node, AskNode) and node.retry_text:
        yield "retry_text", node.retry_text


def placeholders(value: Any) -> set[str]:
    """Variable names a template value reads."""
    if isinstance(value, str):
        return set(PLACEHOLDER.findall(value))
    if isinstance(value, dict):
        return set().union(*(placeholders(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(placeholders(v) for v in value)) if value else set()
    return set()
