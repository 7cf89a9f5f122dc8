"""The phone menu: a flow of the bot engine heard instead of read, digits instead of taps.

Menus are read out with their digits ("For payments, press 1."); an ask node collects
digits until ``#`` or a pause; the operator digit (``0`` by default) hands over at any
menu. A flow asks for a callback instead of a wait by setting the variable ``callback``
to ``yes`` before its handoff node ("press 2 to be called back").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.bots.engine import Context, Engine, Input, Outcome, Say, State
from omniline.bots.graph import AskNode, Graph, MenuNode
from omniline.bots.models import BotFlow, BotFlowVersion
from omniline.bots.service import secret_values
from omniline.bots.turns import _Effects, graph_of, version_key
from omniline.channels.voice import prompts
from omniline.channels.voice.contract import Prompt
from omniline.channels.voice.models import VoiceCall
from omniline.contacts.models import Contact
from omniline.conversations.models import Conversation
from omniline.inboxes.models import Inbox
from omniline.workspaces.models import Queue

MAX_JUMPS = 5


@dataclass
class Step:
    """What the caller hears next and where the call goes."""

    prompts: list[Prompt] = field(default_factory=list)
    outcome: str = "wait"  # wait | handoff | resolved | callback
    expect: str = "menu"  # menu: one digit; digits: several, ended by '#' or a pause
    queue_id: int | None = None
    priority: int | None = None
    topic: str | None = None
    language: str = ""
    variables: dict[str, Any] = field(default_factory=dict)


def spoken(says: list[Say], language: str, operator_digit: str) -> list[Prompt]:
    out: list[Prompt] = []
    for say in says:
        if say.text.strip():
            out.append(Prompt(text=say.text.strip()))
        choices = [b for b in say.buttons if not b.get("url")]
        for n, button in enumerate(choices, start=1):
            out.append(Prompt(text=prompts.text("press", language, label=button["text"], n=n)))
        if choices and operator_digit:
            out.append(Prompt(text=prompts.text("operator", language, n=operator_digit)))
    return out


async def _version(session: AsyncSession, inbox: Inbox, call: VoiceCall) -> BotFlowVersion | None:
    vid = (call.ivr or {}).get("version_id")
    if isinstance(vid, int):
        return await session.get(BotFlowVersion, vid)
    if inbox.bot_flow_id is None:
        return None
    flow = await session.get(BotFlow, inbox.bot_flow_id)
    if flow is None or flow.published_version_id is None:
        return None
    return await session.get(BotFlowVersion, flow.published_version_id)


async def has_menu(session: AsyncSession, inbox: Inbox) -> bool:
    if inbox.bot_flow_id is None:
        return False
    flow = await session.get(BotFlow, inbox.bot_flow_id)
    return flow is not None and flow.published_version_id is not None


def _state(call: VoiceCall, default_language: str) -> State:
    raw = (call.ivr or {}).get("state") or {}
    return State(
        node=raw.get("node"),
        variables=dict(raw.get("variables") or {}),
        language=str(raw.get("language") or call.language or default_language or "en"),
        misses=int(raw.get("misses") or 0),
        retries=int(raw.get("retries") or 0),
        path=list(raw.get("path") or []),
    )


async def turn(
    session: AsyncSession,
    inbox: Inbox,
    call: VoiceCall,
    conv: Conversation,
    digits: str | None,
    *,
    operator_digit: str = "0",
) -> Step:
    """Start the menu (``digits`` None) or apply what the caller pressed ("" = silence)."""
    version = await _version(session, inbox, call)
    language_default = str((inbox.settings or {}).get("language") or "en")
    if version is None:
        return Step(outcome="handoff", language=call.language or language_default)
    graph = graph_of(version)
    state = _state(call, language_default)
    region = str((inbox.settings or {}).get("region") or "") or None
    engine = await _engine(session, conv, version, graph, region)
    waiting = engine.nodes.get(state.node or "")
    if digits is not None and digits == operator_digit and isinstance(waiting, MenuNode):
        result_says: list[Say] = []
        outcome = engine._handoff(state, result_says, "asked_for_person")
        says = result_says
    else:
        given = None if digits is None else Input(text=digits.rstrip("#"))
        result = await engine.run(state, given)
        says, outcome, state = result.says, result.outcome, result.state
        for _ in range(MAX_JUMPS):
            if outcome.kind != "jump" or not outcome.flow:
                break
            version = await _jump(session, conv.workspace_id, outcome.flow)
            if version is None:
                outcome = Outcome("handoff", reason="error")
                break
            graph = graph_of(version)
            engine = await _engine(session, conv, version, graph, region)
            state.node = None
            more = await engine.run(state, None)
            says, outcome, state = says + more.says, more.outcome, more.state
    assert version is not None
    language = engine.lang(state)
    call.language = language[:8]
    call.ivr = {
        "version_id": version.id,
        "state": {
            "node": state.node,
            "variables": state.variables,
            "language": state.language,
            "misses": state.misses,
            "retries": state.retries,
            "path": state.path[-50:],
        },
    }
    step = Step(
        prompts=spoken(says, language, operator_digit),
        language=language,
        variables=dict(state.variables),
    )
    nxt = engine.nodes.get(state.node or "")
    step.expect = "digits" if isinstance(nxt, AskNode) else "menu"
    if outcome.kind == "wait":
        return step
    if outcome.kind == "handoff":
        wants_callback = str(state.variables.get("callback", "")).lower() in ("yes", "1", "true")
        step.outcome = "callback" if wants_callback else "handoff"
        step.topic, step.priority = outcome.topic, outcome.priority
        if outcome.queue:
            step.queue_id = await session.scalar(
                select(Queue.id).where(
                    Queue.workspace_id == conv.workspace_id, Queue.name == outcome.queue
                )
            )
        return step
    step.outcome = "resolved"
    return step


async def _engine(
    session: AsyncSession,
    conv: Conversation,
    version: BotFlowVersion,
    graph: Graph,
    region: str | None,
) -> Engine:
    """The flow's engine; numbers typed on the keypad are read as the line's country's."""
    secrets = await secret_values(session, conv.workspace_id)
    fx = _Effects(session, conv, version_key(version), graph, secrets)
    contact = await session.get(Contact, conv.contact_id)
    info: dict[str, Any] = {}
    if contact is not None:
        info = {
            "name": contact.name,
            "email": contact.email,
            "phone": contact.phone,
            "external_id": contact.external_id,
            "attributes": dict(contact.attributes or {}),
        }
    ctx = Context(
        channel="voice",
        conversation_id=conv.id,
        contact=info,
        region=(contact.country if contact else None) or region,
    )
    return Engine(graph, ctx, fx, prefix=f"{version.flow_id}:")


async def _jump(session: AsyncSession, workspace_id: int, key: str) -> BotFlowVersion | None:
    flow = await session.scalar(
        select(BotFlow).where(BotFlow.workspace_id == workspace_id, BotFlow.key == key)
    )
    if flow is None or flow.published_version_id is None:
        return None
    return await session.get(BotFlowVersion, flow.published_version_id)
