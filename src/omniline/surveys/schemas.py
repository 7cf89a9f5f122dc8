"""Shapes of the surveys API: settings, the send API, the widget's answer, answer views."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field
from pydantic.config import JsonDict

from omniline.kit.fields import JsonIn
from omniline.kit.ids import MAX_ID, WHOLE, Id
from omniline.surveys.models import SurveyAnswer, SurveyRequest, SurveySetting

ID_SCHEMA: JsonDict = {"type": "integer", "minimum": 1, "maximum": MAX_ID}

Kind = Literal["csat", "nps"]
Score = Annotated[int, Field(ge=0, le=10), WHOLE]
LANGUAGE = r"^[a-z]{2,3}(-[a-z0-9]{2,4})?$"
Language = Annotated[str, Field(pattern=LANGUAGE, max_length=8)]


class TextsIn(JsonIn):
    question: str = Field(default="", max_length=1000)
    comment: str = Field(default="", max_length=1000)
    thanks: str = Field(default="", max_length=1000)


class SettingIn(JsonIn):
    enabled: bool = False
    kind: Kind = "csat"
    ask_comment: bool = True
    delay_minutes: Annotated[int, Field(ge=0, le=10080), WHOLE] = 0
    expiry_hours: Annotated[int, Field(ge=1, le=720), WHOLE] = 72
    bot_only: bool = False
    # Every key a language code: propertyNames (pydantic states the pattern only as
    # patternProperties, which leaves other keys free).
    texts: dict[Language, TextsIn] = Field(
        default_factory=dict,
        max_length=20,
        json_schema_extra={"propertyNames": {"pattern": LANGUAGE, "maxLength": 8}},
    )

    def data(self) -> dict[str, Any]:
        values = self.model_dump(exclude={"texts"})
        values["texts"] = {
            lang: {k: v.strip() for k, v in t.model_dump().items() if v.strip()}
            for lang, t in self.texts.items()
        }
        return values


class SendIn(JsonIn):
    """A survey in ``conversation_id``, or in the latest conversation of ``contact_id``: at
    least one of the two (the schema's ``anyOf``)."""

    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [
                {
                    "required": [name],
                    "properties": {name: ID_SCHEMA},
                }
                for name in ("conversation_id", "contact_id")
            ]
        }
    )

    trigger: str = Field(pattern=r"^[a-z0-9_]{1,32}$", max_length=32)
    conversation_id: Id | None = None
    contact_id: Id | None = None
    inbox_id: Id | None = None
    agent_id: Id | None = None
    branch: str | None = Field(default=None, max_length=100)


class WidgetSurveyIn(JsonIn):
    request_id: Id
    score: Score | None = None
    comment: str | None = Field(default=None, max_length=2000)


def setting_view(s: SurveySetting) -> dict[str, Any]:
    return {
        "inbox_id": s.inbox_id,
        "enabled": s.enabled,
        "kind": s.kind,
        "ask_comment": s.ask_comment,
        "delay_minutes": s.delay_minutes,
        "expiry_hours": s.expiry_hours,
        "bot_only": s.bot_only,
        "texts": s.texts or {},
    }


def request_view(r: SurveyRequest) -> dict[str, Any]:
    return {
        "id": r.id,
        "conversation_id": r.conversation_id,
        "contact_id": r.contact_id,
        "inbox_id": r.inbox_id,
        "agent_id": r.agent_id,
        "channel": r.channel,
        "kind": r.kind,
        "trigger": r.trigger,
        "branch": r.branch,
        "language": r.language,
        "status": r.status,
        "expires_at": r.expires_at.isoformat(),
    }


def answer_view(a: SurveyAnswer) -> dict[str, Any]:
    return {
        "id": a.id,
        "conversation_id": a.conversation_id,
        "agent_id": a.agent_id,
        "inbox_id": a.inbox_id,
        "channel": a.channel,
        "kind": a.kind,
        "score": a.score,
        "comment": a.comment,
        "trigger": a.trigger,
        "language": a.language,
        "request_id": a.request_id,
        "created_at": a.created_at.isoformat(),
    }
