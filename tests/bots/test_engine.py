"""The engine step by step: set, conditions, FAQ steps, jumps, language switches, and customer
text of any length or script, with the outside world given as plain Python."""

from __future__ import annotations

from typing import Any

import httpx
from hypothesis import given, settings
from hypothesis import strategies as st

from omniline.bots.engine import Context, Engine, HttpFailed, Input, State
from omniline.bots.graph import Graph
from tests.bots.support import Customer, admin, bot_session, conversation, publish
from tests.conftest import Demo


class World:
    """What a flow may ask of the outside: answers fixed by the test."""

    def __init__(self, *, open_now: bool = True, events: tuple[str, ...] = ()) -> None:
        self.open_now = open_now
        self.events = set(events)
        self.attributes: dict[str, str] = {}
        self.tags: list[str] = []

    async def http(
        self, method: str, url: str, headers: dict[str, str], body: Any, seconds: float
    ) -> Any:
        raise HttpFailed("no CRM in this test")

    async def faq(self, text: str) -> tuple[str | None, float]:
        return ("card_lost", 0.9) if "card" in text.lower() else (None, 0.1)

    async def business_hours(self, calendar_id: int) -> bool:
        return self.open_now

    async def has_event(self, name: str) -> bool:
        return name in self.events

    async def set_attribute(self, name: str, value: str) -> None:
        self.attributes[name] = value

    async def add_tag(self, tag: str) -> None:
        self.tags.append(tag)

    def secret(self, name: str) -> str | None:
        return None


FLOW = Graph.model_validate(
    {
        "languages": ["en", "uk"],
        "fallback_language": "en",
        "start": "lang",
        "nodes": [
            {"id": "lang", "type": "menu", "text": {"en": "Language?", "uk": "Мова?"},
             "options": [{"label": {"en": "English", "uk": "Англійська"}, "next": "hours",
                          "set_language": "en"},
                         {"label": {"en": "Українська", "uk": "Українська"}, "next": "hours",
                          "set_language": "uk"}]},
            {"id": "hours", "type": "condition",
             "branches": [{"all": [{"subject": "business_hours", "value": 1}], "next": "seg"}],
             "otherwise": "closed"},
            {"id": "closed", "type": "end", "text": {"en": "We are closed.", "uk": "Зачинено."}},
            {"id": "seg", "type": "set", "name": "segment", "value": "{{contact.name}}-vip",
             "next": "attr"},
            {"id": "attr", "type": "set", "target": "attribute", "name": "bot_seen",
             "value": "{{segment}}", "next": "tag"},
            {"id": "tag", "type": "set", "target": "tag", "name": "bot", "next": "signed"},
            {"id": "signed", "type": "condition",
             "branches": [{"all": [{"subject": "event.contract_signed"},
                                   {"subject": "var.segment", "op": "contains",
                                    "value": "vip"}],
                           "next": "ask"}],
             "otherwise": "bye"},
            {"id": "ask", "type": "faq", "text": {"en": "Your question?", "uk": "Ваше питання?"},
             "next": "bye", "miss": "person"},
            {"id": "person", "type": "handoff"},
            {"id": "bye", "type": "end", "text": {"en": "Bye {{segment}}", "uk": "Бувайте"}},
        ],
        "faq": [{"key": "card_lost", "examples": {"en": ["lost card"]},
                 "answer": {"en": "Block it.", "uk": "Заблокуйте."}}],
    }
)  # fmt: skip


def engine(world: World) -> Engine:
    return Engine(FLOW, Context("telegram", 1, contact={"name": "Ivan"}), world)


async def test_set_conditions_and_faq_step() -> None:
    world = World(events=("contract_signed",))
    e, state = engine(world), State(language="en")
    r = await e.run(state, Input("hi"))
    assert [s.text for s in r.says] == ["Language?"] and r.outcome.kind == "wait"
    r = await e.run(state, Input("Українська"))
    assert state.language == "uk"
    assert [s.text for s in r.says] == ["Ваше питання?"]
    assert state.variables["segment"] == "Ivan-vip"
    assert world.attributes == {"bot_seen": "Ivan-vip"} and world.tags == ["bot"]
    r = await e.run(state, Input("I lost my card"))
    assert [s.text for s in r.says] == ["Заблокуйте.", "Бувайте"]
    assert r.outcome.kind == "resolved"
    assert state.path == ["lang", "hours", "seg", "attr", "tag", "signed", "ask", "bye"]


async def test_the_other_branches() -> None:
    r = await engine(World(open_now=False)).run(State(language="en"), None)
    closed = await engine(World(open_now=False)).run(r.state, Input("1"))
    assert [s.text for s in closed.says] == ["We are closed."]
    e, state = engine(World()), State()
    await e.run(state, None)
    r = await e.run(state, Input("English"))
    assert [s.text for s in r.says] == ["Bye Ivan-vip"]  # no contract: straight to the end
    e, state = engine(World(events=("contract_signed",))), State()
    await e.run(state, None)
    await e.run(state, Input("1"))
    r = await e.run(state, Input("what is the weather"))
    assert r.outcome.kind == "handoff" and r.outcome.reason == "flow_handoff"


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=5000))
async def test_any_text_in_any_script_never_breaks_a_turn(text: str) -> None:
    e, state = engine(World(events=("contract_signed",))), State()
    await e.run(state, None)
    r = await e.run(state, Input(text))
    assert r.outcome.kind in ("wait", "handoff", "resolved")
    assert all(len(v) <= 2000 for v in state.variables.values() if isinstance(v, str))


OTHER = {
    "languages": ["en"],
    "fallback_language": "en",
    "start": "hello",
    "nodes": [
        {"id": "hello", "type": "message", "text": {"en": "Cards team here."}, "next": "h"},
        {"id": "h", "type": "handoff", "topic": "cards"},
    ],
}
MAIN = {
    "languages": ["en"],
    "fallback_language": "en",
    "start": "go",
    "nodes": [{"id": "go", "type": "jump", "flow": "cards"}],
}


async def test_a_jump_continues_in_the_other_published_flow(
    client: httpx.AsyncClient, demo: Demo
) -> None:
    h = await admin(client)
    await publish(client, h, OTHER, key="cards", secret=None)
    await publish(client, h, MAIN, key="main", inbox_id=demo.inbox_id, secret=None)
    c = await Customer.open(client)
    await c.send("hi")
    assert [m["text"] for m in await c.replies()] == [
        "Cards team here.",
        "I am passing you to a colleague. Please wait a moment.",
    ]
    conv = await conversation(c.conversation_id)
    assert (conv.status, conv.topic) == ("queued", "cards")
    assert (await bot_session(c.conversation_id)).outcome == "flow_handoff"
