"""Running a flow: one customer input in, what the bot says and where the conversation stands out.

Channel-neutral and free of the database: the outside world (the lender's CRM, FAQ matching,
calendars, the contact's events and attributes) comes in through :class:`Effects`, so the same
engine serves the web chat, the messengers and, later, the phone menu.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import quote

from omniline.bots import defaults
from omniline.bots.checks import check
from omniline.bots.graph import (
    PLACEHOLDER,
    AskNode,
    Condition,
    ConditionNode,
    EndNode,
    FaqNode,
    Graph,
    HandoffNode,
    HttpNode,
    JumpNode,
    MenuNode,
    MessageNode,
    SetNode,
)
from omniline.bots.validator import waits_for_customer

MAX_STEPS = 200  # a turn that passes more nodes than this is a broken flow: hand over
MAX_PATH = 200
MAX_VARIABLE = 2000  # characters kept of one variable
MISSES_BEFORE_HANDOFF = 2


class HttpFailed(Exception):
    """The CRM call timed out, failed or answered something unusable."""


class Effects(Protocol):
    async def http(
        self, method: str, url: str, headers: dict[str, str], body: Any, seconds: float
    ) -> Any: ...

    async def faq(self, text: str) -> tuple[str | None, float]: ...

    async def business_hours(self, calendar_id: int) -> bool: ...

    async def has_event(self, name: str) -> bool: ...

    async def set_attribute(self, name: str, value: str) -> None: ...

    async def add_tag(self, tag: str) -> None: ...

    def secret(self, name: str) -> str | None: ...


@dataclass
class Input:
    text: str = ""
    # A pressed button: "<node id>/<option index>".
    payload: str | None = None


@dataclass
class Say:
    text: str
    buttons: list[dict[str, str]] = field(default_factory=list)
    media: list[dict[str, str]] = field(default_factory=list)


@dataclass
class Outcome:
    """``wait`` (for the customer at ``State.node``), ``handoff``, ``resolved`` or ``jump``."""

    kind: str
    reason: str = ""
    topic: str | None = None
    priority: int | None = None
    queue: str | None = None
    survey: bool = False
    flow: str | None = None


@dataclass
class State:
    node: str | None = None
    variables: dict[str, Any] = field(default_factory=dict)
    language: str = "en"
    misses: int = 0
    retries: int = 0
    path: list[str] = field(default_factory=list)


@dataclass
class Context:
    """Facts of the conversation a flow may read (``contact.*``, ``channel``)."""

    channel: str
    conversation_id: int
    contact: dict[str, Any] = field(default_factory=dict)
    region: str | None = None


@dataclass
class Result:
    says: list[Say]
    outcome: Outcome
    state: State


def normalize(text: str) -> str:
    """Case, accents of Latin letters and punctuation do not matter when matching words."""
    text = unicodedata.normalize("NFKC", text).casefold().strip()
    return re.sub(r"[\s\W_]+", " ", text).strip()


def asks_faq(graph: Graph, node_id: str | None, given: Input) -> bool:
    """Whether ``given``, at the node the conversation waits at, goes to the FAQ matcher (as
    :meth:`Engine.run` and ``_answer`` decide): so that the runtime can match the question
    before the turn takes its lock. A False where the turn does ask only costs that head start."""
    if not given.text.strip() or node_id is None:
        return False
    if given.payload is None:
        typed = normalize(given.text)
        if any(normalize(w) == typed for w in graph.settings.escalation_words):
            return False
    node = graph.by_id().get(node_id)
    if isinstance(node, FaqNode):
        return True
    return isinstance(node, MenuNode) and node.faq and Engine._choice(node, given) is None


class Engine:
    def __init__(self, graph: Graph, ctx: Context, effects: Effects, *, prefix: str = "") -> None:
        """``prefix`` goes before each node id in ``State.path`` (the flow's, for the funnel)."""
        self.prefix = prefix
        self.graph = graph
        self.nodes = graph.by_id()
        self.ctx = ctx
        self.fx = effects
        self.escalation = {normalize(w) for w in graph.settings.escalation_words if normalize(w)}

    # -- texts ----------------------------------------------------------------------------------
    def lang(self, state: State) -> str:
        if state.language in self.graph.languages:
            return state.language
        base = state.language.split("-")[0]
        return base if base in self.graph.languages else self.graph.fallback_language

    def pick(self, texts: dict[str, str], state: State) -> str:
        lang = self.lang(state)
        chosen = texts.get(lang) or texts.get(self.graph.fallback_language)
        if not chosen and texts:
            chosen = next(iter(texts.values()))
        return self.render(chosen or "", state)

    def value_of(self, name: str, state: State) -> Any:
        if name.startswith("contact.attributes."):
            return (self.ctx.contact.get("attributes") or {}).get(name[19:])
        if name.startswith("contact."):
            return self.ctx.contact.get(name[8:])
        if name.startswith("secret."):
            return self.fx.secret(name[7:])
        if name == "channel":
            return self.ctx.channel
        if name == "language":
            return state.language
        if name == "conversation.id":
            return self.ctx.conversation_id
        if name == "omniline.base_url":
            from omniline.config import get_settings

            return get_settings().public_base_url.rstrip("/")
        return state.variables.get(name)

    def render(self, template: str, state: State, *, url: bool = False) -> str:
        """Fill in ``{{name}}``s; in a URL, values are percent-encoded (a phone's ``+`` would
        read as a space), except one that starts the URL (its base, e.g. the CRM's address)."""

        def one(m: re.Match[str]) -> str:
            value = self.value_of(m.group(1), state)
            text = "" if value is None else str(value)
            return quote(text, safe="") if url and m.start() > 0 else text

        return PLACEHOLDER.sub(one, template)

    def _setting(self, key: str, state: State) -> str:
        own: dict[str, str] = getattr(self.graph.settings, f"{key}_text", {}) or {}
        return self.pick(own, state) if own else defaults.text(key, self.lang(state))

    # -- one turn -------------------------------------------------------------------------------
    async def run(self, state: State, given: Input | None) -> Result:
        """Apply ``given`` to the node the conversation waits at (or start the flow), then run
        until the flow waits for the customer again or leaves the bot."""
        says: list[Say] = []
        if given is not None:
            text = given.text[:MAX_VARIABLE]
            state.variables["last_message"] = text
            if state.node is None and "first_message" not in state.variables:
                state.variables["first_message"] = text
            if given.payload is None and normalize(given.text) in self.escalation:
                return Result(says, self._handoff(state, says, "asked_for_person"), state)
        if state.node is None:
            if not self.graph.start or self.graph.start not in self.nodes:
                return Result(says, self._handoff(state, says, "error"), state)
            started = await self._walk(self.graph.start, state, says)
            if given is not None and started.outcome.kind == "wait":
                await self._first_question(state, given, says)
            return started
        node = self.nodes.get(state.node)
        if node is None:  # a version without the node (should not happen: versions are frozen)
            return Result(says, self._handoff(state, says, "error"), state)
        nxt = await self._answer(node, state, given or Input(), says)
        if isinstance(nxt, Outcome):
            return Result(says, nxt, state)
        return await self._walk(nxt, state, says)

    async def _answer(
        self, node: Any, state: State, given: Input, says: list[Say]
    ) -> str | Outcome:
        """Where the customer's answer at a waiting node leads (a node id), or an outcome."""
        if isinstance(node, MenuNode | MessageNode):
            chosen = self._choice(node, given)
            if chosen is not None:
                state.misses = 0
                if isinstance(node, MenuNode):
                    option = node.options[chosen]
                    if option.set_language:
                        state.language = option.set_language
                    target = option.next
                else:
                    target = node.buttons[chosen].next
                return target or self._handoff(state, says, "error")
            if isinstance(node, MenuNode) and node.faq and given.text.strip():
                intent = await self._faq(given.text)
                if intent is not None:
                    state.misses = 0
                    says.append(Say(self.pick(intent.answer, state)))
                    self._present(node, state, says)
                    return Outcome("wait")
            return self._missed(node, state, says)
        if isinstance(node, AskNode):
            value = check(
                node.check,
                given.text,
                pattern=node.pattern,
                choices=node.choices,
                region=self.ctx.region,
            )
            if value is not None:
                state.variables[node.variable] = value[:MAX_VARIABLE]
                state.retries = 0
                return node.next or self._handoff(state, says, "error")
            state.retries += 1
            if state.retries > node.retries:
                state.retries = 0
                if node.failed:
                    return node.failed
                return self._handoff(state, says, "not_understood")
            says.append(
                Say(
                    self.pick(node.retry_text, state)
                    if node.retry_text
                    else self._setting("retry", state)
                )
            )
            says.append(Say(self.pick(node.text, state)))
            return Outcome("wait")
        if isinstance(node, FaqNode):
            return await self._faq_step(node, given.text, state, says)
        # A node that does not wait: carry on from it.
        return node.id

    @staticmethod
    def _choice(node: MenuNode | MessageNode, given: Input) -> int | None:
        labels = (
            [o.label for o in node.options]
            if isinstance(node, MenuNode)
            else [b.label for b in node.buttons]
        )
        if given.payload:
            head, _, index = given.payload.rpartition("/")
            if head == node.id and index.isdigit() and int(index) < len(labels):
                return int(index)
        typed = normalize(given.text)
        if not typed:
            return None
        if typed.isdigit() and 1 <= int(typed) <= len(labels):
            return int(typed) - 1
        for i, label in enumerate(labels):
            if any(normalize(v) == typed for v in label.values()):
                return i
        if isinstance(node, MenuNode):
            for i, option in enumerate(node.options):
                words = [normalize(w) for ws in option.synonyms.values() for w in ws]
                if any(w and (w == typed or f" {w} " in f" {typed} ") for w in words):
                    return i
        return None

    def _missed(self, node: Any, state: State, says: list[Say]) -> str | Outcome:
        state.misses += 1
        limit = node.retries + 1 if isinstance(node, MenuNode) else MISSES_BEFORE_HANDOFF
        if state.misses >= max(limit, 1):
            state.misses = 0
            if isinstance(node, MenuNode) and node.no_match:
                return node.no_match
            return self._handoff(state, says, "not_understood")
        says.append(Say(self._setting("not_understood", state)))
        self._present(node, state, says)
        return Outcome("wait")

    async def _first_question(self, state: State, given: Input, says: list[Say]) -> None:
        """A conversation that opens with a question ("hi, how do I pay by card?"): after the
        greeting, the answer, when the menu the flow waits at answers typed questions and knows
        this one. Anything else (a greeting, a menu choice, an unknown question) waits for the
        customer as before: nobody is told "not understood" for saying hello."""
        node = self.nodes.get(state.node or "")
        if (
            not isinstance(node, MenuNode)
            or not node.faq
            or given.payload is not None
            or not given.text.strip()
            or self._choice(node, given) is not None
        ):
            return
        intent = await self._faq(given.text)
        if intent is not None:
            says.append(Say(self.pick(intent.answer, state)))

    async def _faq(self, text: str) -> Any:
        key, _confidence = await self.fx.faq(text)
        if key is None:
            return None
        return next((i for i in self.graph.faq if i.key == key), None)

    async def _faq_step(
        self, node: FaqNode, text: str, state: State, says: list[Say]
    ) -> str | Outcome:
        intent = await self._faq(text) if text.strip() else None
        if intent is not None:
            state.misses = 0
            says.append(Say(self.pick(intent.answer, state)))
            return node.next or self._handoff(state, says, "error")
        if node.miss:
            return node.miss
        return self._missed(node, state, says)

    def _present(self, node: Any, state: State, says: list[Say]) -> None:
        """Show a waiting node's question (again)."""
        if isinstance(node, MenuNode):
            buttons = [
                {"text": self.pick(o.label, state), "payload": f"{node.id}/{i}"}
                for i, o in enumerate(node.options)
            ]
            says.append(Say(self.pick(node.text, state), buttons))
        elif isinstance(node, MessageNode):
            says.append(self._message(node, state))
        elif isinstance(node, AskNode | FaqNode) and node.text:
            says.append(Say(self.pick(node.text, state)))

    def _message(self, node: MessageNode, state: State) -> Say:
        buttons = []
        for i, b in enumerate(node.buttons):
            item = {"text": self.pick(b.label, state)}
            if b.url:
                item["url"] = self.render(b.url, state)
            else:
                item["payload"] = f"{node.id}/{i}"
            buttons.append(item)
        media = [
            {"url": self.render(m.url, state), "caption": self.pick(m.caption, state)}
            for m in node.media
        ]
        return Say(self.pick(node.text, state), buttons, media)

    def _handoff(
        self, state: State, says: list[Say], reason: str, node: HandoffNode | None = None
    ) -> Outcome:
        if node is not None and node.text:
            says.append(Say(self.pick(node.text, state)))
        else:
            says.append(Say(self._setting("handoff", state)))
        state.node = None
        return Outcome(
            "handoff",
            reason=reason,
            topic=self.render(node.topic, state) if node and node.topic else None,
            priority=node.priority if node else None,
            queue=node.queue if node else None,
        )

    def _visit(self, state: State, node_id: str) -> None:
        if len(state.path) < MAX_PATH:
            state.path.append(self.prefix + node_id)

    async def _walk(self, start: str, state: State, says: list[Say]) -> Result:
        current: str | None = start
        for _ in range(MAX_STEPS):
            node = self.nodes.get(current or "")
            if node is None:
                return Result(says, self._handoff(state, says, "error"), state)
            self._visit(state, node.id)
            step = await self._step(node, state, says)
            if isinstance(step, Outcome):
                if step.kind == "wait":
                    state.node = node.id
                else:
                    state.node = None
                return Result(says, step, state)
            current = step
        return Result(says, self._handoff(state, says, "error"), state)

    async def _step(self, node: Any, state: State, says: list[Say]) -> str | Outcome:
        """Run one node: the next node's id, or an outcome (``wait`` stays at this node)."""
        if isinstance(node, MessageNode):
            says.append(self._message(node, state))
            if waits_for_customer(node):
                return Outcome("wait")
            return node.next or self._handoff(state, says, "error")
        if isinstance(node, MenuNode):
            state.misses = 0
            self._present(node, state, says)
            return Outcome("wait")
        if isinstance(node, AskNode):
            state.retries = 0
            says.append(Say(self.pick(node.text, state)))
            return Outcome("wait")
        if isinstance(node, FaqNode):
            if node.text:
                says.append(Say(self.pick(node.text, state)))
                return Outcome("wait")
            return await self._faq_step(
                node, str(state.variables.get("last_message") or ""), state, says
            )
        if isinstance(node, ConditionNode):
            for branch in node.branches:
                if all([await self._holds(c, state) for c in branch.all]):
                    return branch.next or self._handoff(state, says, "error")
            return node.otherwise or self._handoff(state, says, "error")
        if isinstance(node, HttpNode):
            return await self._http(node, state, says)
        if isinstance(node, SetNode):
            value = self.render(node.value, state)[:MAX_VARIABLE]
            if node.target == "variable":
                state.variables[node.name] = value
            elif node.target == "attribute":
                await self.fx.set_attribute(node.name, value)
                self.ctx.contact.setdefault("attributes", {})[node.name] = value
            else:
                await self.fx.add_tag(self.render(node.name, state))
            return node.next or self._handoff(state, says, "error")
        if isinstance(node, HandoffNode):
            return self._handoff(state, says, "flow_handoff", node)
        if isinstance(node, EndNode):
            if node.text:
                says.append(Say(self.pick(node.text, state)))
            return Outcome("resolved", survey=node.survey)
        if isinstance(node, JumpNode):
            return Outcome("jump", flow=node.flow)
        return self._handoff(state, says, "error")

    async def _http(self, node: HttpNode, state: State, says: list[Say]) -> str | Outcome:
        url = self.render(node.url, state, url=True)
        headers = {k: self.render(v, state) for k, v in node.headers.items()}
        body = _render_json(node.body, lambda s: self.render(s, state))
        try:
            answer = await self.fx.http(node.method, url, headers, body, node.timeout_seconds)
            saved = {name: _dig(answer, path) for name, path in node.save.items()}
        except HttpFailed as exc:
            state.variables["http_error"] = str(exc)[:200]
            return node.error or self._handoff(state, says, "error")
        for name, value in saved.items():
            state.variables[name] = (
                value if isinstance(value, int | float | bool) else str(value)[:MAX_VARIABLE]
            )
        return node.next or self._handoff(state, says, "error")

    async def _holds(self, c: Condition, state: State) -> bool:
        if c.subject == "business_hours":
            try:
                open_ = await self.fx.business_hours(int(c.value))
            except (TypeError, ValueError):
                return False
            return open_ if c.op != "ne" else not open_
        if c.subject.startswith("event."):
            had = await self.fx.has_event(c.subject[6:])
            return had if c.op in ("exists", "eq") and c.value in (None, True) else not had
        if c.subject.startswith("var."):
            actual = state.variables.get(c.subject[4:])
        else:
            actual = self.value_of(c.subject, state)
        return compare(c.op, actual, c.value)


def compare(op: str, actual: Any, expected: Any) -> bool:
    if op == "exists":
        present = actual not in (None, "")
        return present if expected in (None, True) else not present
    if actual is None:
        return op in ("ne", "not_in")
    left = str(actual).casefold()
    if op in ("in", "not_in"):
        options = expected if isinstance(expected, list) else [expected]
        inside = left in {str(o).casefold() for o in options}
        return inside if op == "in" else not inside
    if op == "contains":
        return str(expected or "").casefold() in left
    if op == "matches":
        try:
            return re.search(str(expected or ""), str(actual)[:1000]) is not None
        except re.error:
            return False
    if op in ("gt", "gte", "lt", "lte"):
        try:
            a, b = float(str(actual).replace(",", ".")), float(str(expected).replace(",", "."))
        except ValueError:
            return False
        return {"gt": a > b, "gte": a >= b, "lt": a < b, "lte": a <= b}[op]
    same = left == str(expected).casefold() if expected is not None else False
    return same if op == "eq" else not same


def _dig(answer: Any, path: str) -> Any:
    """``data.items.0.amount`` in a JSON answer; a missing part is an error."""
    value = answer
    for part in path.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            raise HttpFailed(f"the answer has no {path!r}")
    if isinstance(value, dict | list):
        raise HttpFailed(f"{path!r} is not a single value")
    return value


def _render_json(value: Any, render: Any) -> Any:
    if isinstance(value, str):
        return render(value)
    if isinstance(value, dict):
        return {k: _render_json(v, render) for k, v in value.items()}
    if isinstance(value, list):
        return [_render_json(v, render) for v in value]
    return value
