"""Shapes the bots API takes and gives."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field

from omniline.bots.graph import Graph
from omniline.bots.models import BotFlow, BotFlowVersion, BotSession
from omniline.kit.clock import iso
from omniline.kit.fields import NOT_BLANK, JsonIn
from omniline.kit.ids import WHOLE, Id, Number

FlowKey = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
FlowName = Annotated[
    str, Field(min_length=1, max_length=200, json_schema_extra={"pattern": NOT_BLANK})
]


class FlowIn(JsonIn):
    key: FlowKey
    name: FlowName
    # The graph (docs/bots.md); an empty flow when left out.
    graph: Graph | None = None


class FlowSaveIn(JsonIn):
    graph: Graph
    # The draft revision the editor loaded: a newer one on the server answers 409.
    revision: Number | None = None
    name: FlowName | None = None


class FlowDocument(Graph):
    """A flow as exported: its ``key`` and ``name`` beside the graph (the name defaults to
    the key)."""

    key: FlowKey
    name: FlowName | None = None


class PublishIn(JsonIn):
    note: str = Field(default="", max_length=500)


class RollbackIn(JsonIn):
    version: Number = Field(ge=1)


class InboxFlowIn(JsonIn):
    flow_id: Id | None


class SecretIn(JsonIn):
    value: str = Field(min_length=1, max_length=2000)


class TestState(JsonIn):
    model_config = ConfigDict(extra="forbid", strict=True)

    node: str | None = Field(default=None, max_length=64)
    variables: dict[str, Any] = Field(default_factory=dict)
    language: str = Field(default="en", max_length=16)
    misses: Annotated[int, Field(ge=0, le=100), WHOLE] = 0
    retries: Annotated[int, Field(ge=0, le=100), WHOLE] = 0
    path: list[str] = Field(default_factory=list, max_length=200)


class TestTurnIn(JsonIn):
    """Leave ``state`` out to start the flow; send back the ``state`` of the last answer."""

    state: TestState | None = None
    text: str | None = Field(default=None, max_length=4000)
    payload: str | None = Field(default=None, max_length=200)
    language: str = Field(default="en", min_length=2, max_length=16)
    channel: Literal["webchat", "telegram", "whatsapp", "vk", "messenger", "email"] = "webchat"


def version_view(v: BotFlowVersion) -> dict[str, Any]:
    return {
        "id": v.id,
        "number": v.number,
        "published_at": iso(v.created_at),
        "published_by": v.published_by_name,
        "note": v.note,
    }


def flow_view(f: BotFlow, *, draft: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": f.id,
        "key": f.key,
        "name": f.name,
        "revision": f.draft_revision,
        "published_version_id": f.published_version_id,
        "problems": list(f.problems or []),
        "updated_at": iso(f.updated_at),
    }
    if draft:
        out["graph"] = f.draft
    return out


def session_view(bs: BotSession, flow: BotFlow | None) -> dict[str, Any]:
    return {
        "flow": {"id": flow.id, "key": flow.key, "name": flow.name} if flow else None,
        "status": bs.status,
        "outcome": bs.outcome,
        "language": bs.language,
        "node": bs.node,
        "variables": {k: v for k, v in (bs.variables or {}).items()},
        "path": [p.split(":", 1)[-1] for p in bs.path or []],
        "started_at": iso(bs.created_at),
        "ended_at": iso(bs.ended_at),
    }
