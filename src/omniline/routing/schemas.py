"""The shape of a routing rule: typed conditions (a discriminated union) and actions.

``parse_rule`` turns any input (API JSON, an admin form) into a ``RuleIn`` or raises
``Invalid`` naming every bad field (``conditions[0].keywords``), so nothing half-valid
is ever stored.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.json_schema import JsonDict

from omniline.errors import Invalid
from omniline.kit.fields import NOT_BLANK, JsonIn
from omniline.kit.ids import MAX_ID, WHOLE, Id

PRIORITY_MIN, PRIORITY_MAX = 0, 100
Priority = Annotated[int, Field(ge=PRIORITY_MIN, le=PRIORITY_MAX), WHOLE]
Operator = Literal["eq", "neq", "in", "exists", "gt", "lt"]
OPERATORS: tuple[str, ...] = ("eq", "neq", "in", "exists", "gt", "lt")
# Whole numbers within what a double holds exactly, like ids (kit/ids.py).
Scalar = str | Annotated[int, Field(ge=-MAX_ID, le=MAX_ID), WHOLE] | float | bool
# What _clean_list accepts, for the schema: at least one value, none blank or over 200.
_LIST: JsonDict = {
    "minItems": 1,
    "items": {"type": "string", "pattern": NOT_BLANK, "maxLength": 200},
}
# pydantic trims (str_strip_whitespace) Unicode White_Space, which leaves \x1c-\x1f alone.
_TEXT: JsonDict = {"pattern": r"[^\s\x85]"}
_SCALAR: JsonDict = {
    "anyOf": [{"type": "string", "pattern": NOT_BLANK}, {"type": "number"}, {"type": "boolean"}]
}
# _value_fits_operator, for the schema.
_VALUE_FITS_OPERATOR: JsonDict = {
    "anyOf": [
        {"required": ["operator"], "properties": {"operator": {"const": "exists"}}},
        {
            "required": ["value"],
            "properties": {"operator": {"enum": ["eq", "neq"]}, "value": _SCALAR},
        },
        {
            "required": ["operator", "value"],
            "properties": {
                "operator": {"const": "in"},
                "value": {"type": "array", "minItems": 1, "items": _SCALAR},
            },
        },
        {
            "required": ["operator", "value"],
            "properties": {"operator": {"enum": ["gt", "lt"]}, "value": {"type": "number"}},
        },
    ]
}


class _Strict(JsonIn):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def _clean_list(values: list[str], *, lower: bool = False, upper: bool = False) -> list[str]:
    """Trimmed, de-duplicated, order kept; an empty list or an empty item is refused."""
    out: list[str] = []
    for raw in values:
        v = raw.strip()
        if not v:
            raise ValueError("must not contain empty values")
        if len(v) > 200:
            raise ValueError("a value must be at most 200 characters long")
        v = v.lower() if lower else v.upper() if upper else v
        if v not in out:
            out.append(v)
    if not out:
        raise ValueError("must list at least one value")
    return out


class AttributeCondition(_Strict):
    """A contact attribute from the CRM, e.g. ``client eq true``."""

    model_config = ConfigDict(json_schema_extra=_VALUE_FITS_OPERATOR)

    type: Literal["attribute"]
    key: str = Field(min_length=1, max_length=100, json_schema_extra=_TEXT)
    operator: Operator = "eq"
    value: Scalar | list[Scalar] | None = None

    @model_validator(mode="after")
    def _value_fits_operator(self) -> AttributeCondition:
        op, v = self.operator, self.value
        if op == "exists":
            return self
        if v is None or (isinstance(v, str) and not v.strip()):
            raise ValueError("value: must not be empty")
        if op == "in":
            if not isinstance(v, list) or not v:
                raise ValueError("value: list at least one value for 'in'")
            if any(isinstance(x, str) and not x.strip() for x in v):
                raise ValueError("value: must not contain empty values")
        elif isinstance(v, list):
            raise ValueError(f"value: a list is only allowed with 'in', not '{op}'")
        if op in ("gt", "lt") and (isinstance(v, bool) or not isinstance(v, int | float)):
            raise ValueError(f"value: '{op}' compares numbers; give a number")
        return self


class EventCondition(_Strict):
    """The contact has an event of this name, within the last ``within_days`` days (or ever)."""

    type: Literal["event"]
    name: str = Field(min_length=1, max_length=100, json_schema_extra=_TEXT)
    within_days: Annotated[int, Field(ge=1, le=3650), WHOLE] | None = None


class InboxCondition(_Strict):
    type: Literal["inbox"]
    inbox_ids: list[Id] = Field(min_length=1)


class ChannelCondition(_Strict):
    type: Literal["channel"]
    channels: list[str] = Field(json_schema_extra=_LIST)

    @field_validator("channels")
    @classmethod
    def _c(cls, v: list[str]) -> list[str]:
        return _clean_list(v, lower=True)


class MailboxCondition(_Strict):
    """The address a letter was sent to (``to_address``), compared case-insensitively."""

    type: Literal["mailbox"]
    addresses: list[str] = Field(
        json_schema_extra={**_LIST, "items": {**_LIST["items"], "pattern": "@"}}  # type: ignore[dict-item]
    )

    @field_validator("addresses")
    @classmethod
    def _a(cls, v: list[str]) -> list[str]:
        out = _clean_list(v, lower=True)
        if any("@" not in a for a in out):
            raise ValueError("each address must contain '@'")
        return out


class LanguageCondition(_Strict):
    type: Literal["language"]
    languages: list[str] = Field(json_schema_extra=_LIST)

    @field_validator("languages")
    @classmethod
    def _l(cls, v: list[str]) -> list[str]:
        return _clean_list(v, lower=True)


class CountryCondition(_Strict):
    type: Literal["country"]
    countries: list[str] = Field(
        json_schema_extra={**_LIST, "items": {"type": "string", "pattern": r"^\s*[A-Za-z]{2}\s*$"}}
    )

    @field_validator("countries")
    @classmethod
    def _c(cls, v: list[str]) -> list[str]:
        out = _clean_list(v, upper=True)
        if any(len(c) != 2 or not c.isalpha() for c in out):
            raise ValueError("use two-letter country codes (UA, PL)")
        return out


class TopicCondition(_Strict):
    """The topic the bot or a menu selected."""

    type: Literal["topic"]
    topics: list[str] = Field(json_schema_extra=_LIST)

    @field_validator("topics")
    @classmethod
    def _t(cls, v: list[str]) -> list[str]:
        return _clean_list(v, lower=True)


class KeywordsCondition(_Strict):
    """Any of these words or phrases in the first message (whole words, any case)."""

    type: Literal["keywords"]
    keywords: list[str] = Field(json_schema_extra=_LIST)

    @field_validator("keywords")
    @classmethod
    def _k(cls, v: list[str]) -> list[str]:
        return _clean_list(v, lower=True)


class BusinessHoursCondition(_Strict):
    """Whether the calendar is open (``open=True``) or closed at the time of routing."""

    type: Literal["business_hours"]
    calendar_id: Id = Field(ge=1)
    open: bool = True


Condition = Annotated[
    AttributeCondition
    | EventCondition
    | InboxCondition
    | ChannelCondition
    | MailboxCondition
    | LanguageCondition
    | CountryCondition
    | TopicCondition
    | KeywordsCondition
    | BusinessHoursCondition,
    Field(discriminator="type"),
]
CONDITION_TYPES: tuple[str, ...] = (
    "attribute", "event", "inbox", "channel", "mailbox", "language", "country", "topic",
    "keywords", "business_hours",
)  # fmt: skip
conditions_adapter: TypeAdapter[list[Condition]] = TypeAdapter(list[Condition])


class Actions(_Strict):
    # At least one action (is_empty), for the schema.
    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [
                {"required": ["queue_id"], "properties": {"queue_id": {"not": {"type": "null"}}}},
                {"required": ["priority"], "properties": {"priority": {"not": {"type": "null"}}}},
                {"required": ["tags"], "properties": {"tags": {"minItems": 1}}},
                {
                    "required": ["language"],
                    "properties": {"language": {"type": "string", "pattern": NOT_BLANK}},
                },
                {"required": ["skip_bot"], "properties": {"skip_bot": {"const": True}}},
            ]
        }
    )

    queue_id: Id | None = None
    priority: Priority | None = None
    tags: list[str] = Field(
        default_factory=list,
        max_length=20,
        json_schema_extra={"items": {"type": "string", "pattern": NOT_BLANK, "maxLength": 64}},
    )
    language: str | None = Field(default=None, max_length=8)
    skip_bot: bool = False

    @field_validator("tags")
    @classmethod
    def _tags(cls, v: list[str]) -> list[str]:
        out = sorted({t.strip().lower() for t in v})
        if any(not t for t in out):
            raise ValueError("must not contain empty tags")
        if any(len(t) > 64 for t in out):
            raise ValueError("a tag must be at most 64 characters long")
        return out

    @field_validator("language")
    @classmethod
    def _lang(cls, v: str | None) -> str | None:
        return v.strip().lower() or None if v is not None else None

    def is_empty(self) -> bool:
        return (
            self.queue_id is None
            and self.priority is None
            and not self.tags
            and self.language is None
            and not self.skip_bot
        )


class RuleIn(_Strict):
    name: str = Field(min_length=1, max_length=200, json_schema_extra=_TEXT)
    priority: Priority = 0
    enabled: bool = True
    conditions: list[Condition] = Field(min_length=1, max_length=50)
    actions: Actions


class ReorderIn(_Strict):
    """Every rule of the workspace once; an id of no rule answers 404, a rule left out 409
    (the list was read before a rule was added)."""

    ids: list[Id] = Field(min_length=1, json_schema_extra={"uniqueItems": True})

    @field_validator("ids")
    @classmethod
    def _once_each(cls, value: list[int]) -> list[int]:
        if len(value) != len(set(value)):
            raise ValueError("list every rule of the workspace exactly once")
        return value


class DryRunIn(_Strict):
    """``contact`` is an id, an external id or an email."""

    contact: str | Id = Field(json_schema_extra=_TEXT)
    inbox_id: Id
    first_text: str = Field(default="", max_length=10_000)
    to_address: str | None = Field(default=None, max_length=320)
    topic: str | None = Field(default=None, max_length=100)


def _field_name(loc: tuple[int | str, ...]) -> str:
    """``('conditions', 0, 'keywords', 'keywords')`` -> ``conditions[0].keywords``."""
    out = ""
    skip_tag = False
    for part in loc:
        if skip_tag and part in CONDITION_TYPES:
            skip_tag = False
            continue  # the union tag pydantic inserts after the list index
        skip_tag = False
        if isinstance(part, int):
            out += f"[{part}]"
            skip_tag = out.startswith("conditions") and out.count("[") == 1
        else:
            out += f".{part}" if out else str(part)
    return out or "body"


def _message(err: Any) -> tuple[str, str]:
    loc = tuple(err.get("loc", ()))
    msg = str(err.get("msg", "is not valid"))
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    if err.get("type") == "union_tag_invalid":
        msg = "unknown condition type; use one of " + ", ".join(CONDITION_TYPES)
        loc = (*loc, "type")
    elif err.get("type") == "union_tag_not_found":
        msg = "say which type of condition this is"
        loc = (*loc, "type")
    field = _field_name(loc)
    # Cross-field checks name their field in the message ("value: ...").
    if ": " in msg and msg.split(": ", 1)[0].isidentifier():
        sub, msg = msg.split(": ", 1)
        field = f"{field}.{sub}"
    if field.endswith("conditions") and err.get("type") == "too_short":
        msg = "add at least one condition"
    return field, msg


def parse_rule(data: Any) -> RuleIn:
    try:
        rule = RuleIn.model_validate(data)
    except ValidationError as exc:
        raise invalid_from(exc) from None
    if rule.actions.is_empty():
        raise Invalid("actions", "choose at least one action (queue, priority, tags, language)")
    return rule


def invalid_from(exc: ValidationError) -> Invalid:
    fields = [_message(e) for e in exc.errors()]
    first_field, first_msg = fields[0]
    err = Invalid(first_field, first_msg)
    err.fields = [{"field": f, "message": m} for f, m in fields]
    err.message = "; ".join(f"{f}: {m}" for f, m in fields)
    return err
