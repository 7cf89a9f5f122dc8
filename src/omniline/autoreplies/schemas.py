"""Shapes of auto-reply rules: what the API and the admin form hand to the service."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import Field
from pydantic.json_schema import JsonDict

from omniline.autoreplies import templates
from omniline.autoreplies.models import AutoReplyRule, Kind
from omniline.kit.fields import JsonIn, NotBlank
from omniline.kit.ids import Id, Number

# The service words its own refusal of an unknown kind; the schema lists them.
_KIND = Field(max_length=32, json_schema_extra={"enum": [k.value for k in Kind]})


@dataclass(slots=True)
class RuleData:
    """A rule as typed by an admin; the service validates every field."""

    name: str
    kind: str
    inbox_id: Id | None = None
    queue_id: Id | None = None
    enabled: bool = True
    fallback_language: str = ""
    author_name: str = ""
    calendar_id: Id | None = None
    replaces_greeting: bool = True
    min_position: int | None = None
    min_wait_minutes: int | None = None
    # (language, text) pairs in the order typed; field names are texts.<i>.language / .text
    texts: list[tuple[str, str]] = field(default_factory=list)


# check_text, for the schema: not blank, not too long, known variables only. Which of them a
# kind offers is not said: an anyOf per kind makes schemathesis's generator stall.
_TEXT: JsonDict = {"pattern": templates.schema_pattern(templates.VARIABLES)}


class TextIn(JsonIn):
    language: str = Field(max_length=16)
    text: str = Field(max_length=templates.MAX_CHARS, json_schema_extra=_TEXT)


class RuleIn(JsonIn):
    name: NotBlank = Field(max_length=1000)
    kind: str = _KIND
    inbox_id: Id | None = None
    queue_id: Id | None = None
    enabled: bool = True
    fallback_language: str = Field(max_length=16)
    author_name: str = Field(default="", max_length=1000)
    calendar_id: Id | None = None
    replaces_greeting: bool = True
    min_position: Number | None = None
    min_wait_minutes: Number | None = None
    texts: list[TextIn] = Field(max_length=50)

    def data(self) -> RuleData:
        values = self.model_dump(exclude={"texts"})
        return RuleData(**values, texts=[(t.language, t.text) for t in self.texts])


class PreviewIn(JsonIn):
    kind: str = _KIND
    text: str = Field(max_length=templates.MAX_CHARS, json_schema_extra=_TEXT)


def rule_view(rule: AutoReplyRule, texts: dict[str, str]) -> dict[str, Any]:
    return {
        "id": rule.id,
        "name": rule.name,
        "kind": rule.kind,
        "inbox_id": rule.inbox_id,
        "queue_id": rule.queue_id,
        "enabled": rule.enabled,
        "fallback_language": rule.fallback_language,
        "author_name": rule.author_name,
        "calendar_id": rule.calendar_id,
        "replaces_greeting": rule.replaces_greeting,
        "min_position": rule.min_position,
        "min_wait_minutes": rule.min_wait_minutes,
        "texts": [{"language": lang, "text": texts[lang]} for lang in sorted(texts)],
    }
