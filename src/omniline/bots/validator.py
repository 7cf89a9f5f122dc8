"""What is wrong with a flow, node by node: runs on every save, and publishing needs none.

Each problem names its node (``None`` for the flow as a whole), a stable code the builder
and tests key on, and a sentence for the person building the flow.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from omniline.bots.graph import (
    BUILTIN_VARIABLES,
    AskNode,
    ConditionNode,
    FaqNode,
    Graph,
    HandoffNode,
    HttpNode,
    JumpNode,
    MenuNode,
    MessageNode,
    SetNode,
    edges,
    placeholders,
    texts,
)

ENDINGS = ("end", "handoff", "jump")


@dataclass(frozen=True, slots=True)
class Problem:
    node: str | None
    code: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def waits_for_customer(node: Any) -> bool:
    """The runtime stops at this node until the customer writes or presses something."""
    if isinstance(node, MenuNode | AskNode):
        return True
    if isinstance(node, MessageNode):
        return any(b.next for b in node.buttons)
    if isinstance(node, FaqNode):
        return bool(node.text)
    return False


def validate(
    graph: Graph,
    *,
    flow_key: str | None = None,
    flows: Iterable[str] = (),
    queues: Iterable[str] | None = None,
    secrets: Iterable[str] | None = None,
) -> list[Problem]:
    """Every problem of ``graph``; ``flows`` are the workspace's flow keys (for jumps),
    ``queues`` its queue names and ``secrets`` its stored secret names, when known."""
    out: list[Problem] = []
    nodes: dict[str, Any] = {}
    for n in graph.nodes:
        if n.id in nodes:
            out.append(Problem(n.id, "duplicate_id", f"two nodes have the id {n.id!r}"))
        nodes[n.id] = n
    languages = list(dict.fromkeys(graph.languages))
    if graph.fallback_language not in languages:
        out.append(
            Problem(
                None,
                "fallback_language",
                f"the fallback language {graph.fallback_language!r} is not one of the flow's "
                "languages",
            )
        )
    if not graph.start:
        out.append(Problem(None, "no_start", "the flow has no start node"))
    elif graph.start not in nodes:
        out.append(Problem(None, "missing_start", f"the start node {graph.start!r} does not exist"))

    for n in nodes.values():
        for label, target in edges(n):
            if target not in nodes:
                out.append(
                    Problem(n.id, "missing_target", f"{label} leads to {target!r}, which is gone")
                )
        out.extend(_shape(n, flow_key, set(flows), queues))
        out.extend(_translations(n, languages))
    out.extend(_reachability(graph, nodes))
    out.extend(_loops(nodes))
    out.extend(_variables(graph, nodes, secrets))
    out.extend(_faq(graph, nodes, languages))
    for name, text in (
        ("reminder_text", graph.settings.reminder_text),
        ("not_understood_text", graph.settings.not_understood_text),
        ("handoff_text", graph.settings.handoff_text),
    ):
        missing = [lang for lang in languages if text and not (text.get(lang) or "").strip()]
        if missing:
            out.append(
                Problem(None, "missing_translation", f"settings {name} lacks {', '.join(missing)}")
            )
    return out


def _shape(
    n: Any, flow_key: str | None, flows: set[str], queues: Iterable[str] | None
) -> list[Problem]:
    out: list[Problem] = []
    has_out = any(True for _ in edges(n))
    if n.type not in ENDINGS and not has_out:
        out.append(
            Problem(
                n.id, "dead_end", "nothing follows this node: add a next step, an end or a handoff"
            )
        )
    if isinstance(n, MessageNode) and not n.text and not n.media:
        out.append(Problem(n.id, "empty_message", "the message has neither text nor media"))
    if isinstance(n, MessageNode) and any(b.next for b in n.buttons):
        for i, b in enumerate(n.buttons):
            if not b.next and not b.url:
                out.append(Problem(n.id, "button_nowhere", f"button {i + 1} leads nowhere"))
    if isinstance(n, MenuNode):
        if not n.options:
            out.append(Problem(n.id, "menu_without_options", "the menu has no options"))
        for i, o in enumerate(n.options):
            if not o.next:
                out.append(Problem(n.id, "option_nowhere", f"option {i + 1} leads nowhere"))
        if len(n.options) > 9:
            out.append(
                Problem(
                    n.id,
                    "too_many_options",
                    "a menu has at most 9 options (one digit each on the phone)",
                )
            )
    if isinstance(n, AskNode):
        if n.check == "pattern":
            if not n.pattern:
                out.append(Problem(n.id, "invalid_pattern", "the pattern check needs a pattern"))
            else:
                out.extend(_regex(n.id, n.pattern))
        if n.check == "choice" and not n.choices:
            out.append(Problem(n.id, "no_choices", "the choice check needs choices"))
    if isinstance(n, ConditionNode):
        if not n.branches:
            out.append(Problem(n.id, "no_branches", "the condition has no branches"))
        for i, br in enumerate(n.branches):
            if not br.next:
                out.append(Problem(n.id, "branch_nowhere", f"branch {i + 1} leads nowhere"))
            for c in br.all:
                if c.op == "matches":
                    out.extend(_regex(n.id, str(c.value or "")))
                if not _known_subject(c.subject):
                    out.append(
                        Problem(n.id, "unknown_subject", f"unknown condition subject {c.subject!r}")
                    )
        if not n.otherwise:
            out.append(
                Problem(n.id, "no_otherwise", "the condition needs a branch for when nothing holds")
            )
    if isinstance(n, HttpNode):
        if not n.error:
            out.append(Problem(n.id, "http_without_error", "the HTTP request has no error branch"))
        if not re.match(r"^(https?://|\{\{)", n.url):
            out.append(Problem(n.id, "invalid_url", "the URL must start with http:// or https://"))
    if (
        isinstance(n, SetNode)
        and n.target == "variable"
        and not re.match(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$", n.name)
    ):
        out.append(Problem(n.id, "invalid_variable", f"{n.name!r} is not a variable name"))
    if isinstance(n, JumpNode):
        if flow_key is not None and n.flow == flow_key:
            out.append(Problem(n.id, "jump_to_self", "the flow jumps to itself"))
        elif flows and n.flow not in flows:
            out.append(Problem(n.id, "unknown_flow", f"there is no flow {n.flow!r}"))
    if isinstance(n, HandoffNode) and n.queue and queues is not None and n.queue not in set(queues):
        out.append(Problem(n.id, "unknown_queue", f"there is no queue {n.queue!r}"))
    return out


def _known_subject(subject: str) -> bool:
    head, _, rest = subject.partition(".")
    if subject in ("channel", "language", "business_hours"):
        return True
    return head in ("var", "contact", "event") and bool(rest)


def _regex(node_id: str, pattern: str) -> list[Problem]:
    try:
        re.compile(pattern)
    except re.error as exc:
        return [Problem(node_id, "invalid_pattern", f"the pattern does not compile: {exc}")]
    return []


def _translations(n: Any, languages: list[str]) -> list[Problem]:
    out: list[Problem] = []
    for field, text in texts(n):
        missing = [lang for lang in languages if not (text.get(lang) or "").strip()]
        if missing:
            out.append(
                Problem(n.id, "missing_translation", f"{field} has no {', '.join(missing)} text")
            )
    return out


def _reachability(graph: Graph, nodes: dict[str, Any]) -> list[Problem]:
    if not graph.start or graph.start not in nodes:
        return []
    seen = {graph.start}
    todo = [graph.start]
    while todo:
        for _label, target in edges(nodes[todo.pop()]):
            if target in nodes and target not in seen:
                seen.add(target)
                todo.append(target)
    return [
        Problem(nid, "unreachable", "no path from the start leads to this node")
        for nid in nodes
        if nid not in seen
    ]


def _loops(nodes: dict[str, Any]) -> list[Problem]:
    """Cycles that never wait for the customer would spin forever: Tarjan over the rest."""
    graph = {
        nid: [t for _l, t in edges(n) if t in nodes and not waits_for_customer(nodes[t])]
        for nid, n in nodes.items()
        if not waits_for_customer(n)
    }
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        # Iterative Tarjan: (node, iterator over its targets).
        work = [(root, iter(graph[root]))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            v, it = work[-1]
            advanced = False
            for w in it:
                if w not in graph:
                    continue
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(graph[w])))
                    advanced = True
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                component = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    component.append(w)
                    if w == v:
                        break
                if len(component) > 1 or v in graph[v]:
                    found.append(component)
    return [
        Problem(
            sorted(c)[0],
            "loop_without_input",
            "these steps repeat forever without waiting for the customer: " + ", ".join(sorted(c)),
        )
        for c in found
    ]


def _sets(n: Any, label: str) -> set[str]:
    """Variables that hold a value after leaving ``n`` by the edge ``label``."""
    if isinstance(n, AskNode) and label == "next":
        return {n.variable}
    if isinstance(n, HttpNode) and label == "next":
        return set(n.save)
    if isinstance(n, SetNode) and n.target == "variable":
        return {n.name}
    return set()


def _uses(n: Any) -> set[str]:
    used: set[str] = set()
    for _field, text in texts(n):
        used |= placeholders(text)
    if isinstance(n, HttpNode):
        used |= placeholders(n.url) | placeholders(n.headers) | placeholders(n.body)
    if isinstance(n, SetNode):
        used |= placeholders(n.value)
    if isinstance(n, HandoffNode):
        used |= placeholders(n.topic or "")
    if isinstance(n, ConditionNode):
        for b in n.branches:
            for c in b.all:
                if c.subject.startswith("var."):
                    used.add(c.subject[4:])
                used |= placeholders(c.value)
    return used


def _variables(graph: Graph, nodes: dict[str, Any], secrets: Iterable[str] | None) -> list[Problem]:
    """A variable read on some path from the start before any step set it."""
    if not graph.start or graph.start not in nodes:
        return []
    everything: set[str] = set()
    for n in nodes.values():
        for label, _t in edges(n):
            everything |= _sets(n, label)
        if isinstance(n, SetNode) and n.target == "variable":
            everything.add(n.name)
    known: dict[str, set[str]] = {graph.start: set()}
    todo = [graph.start]
    while todo:
        nid = todo.pop()
        n = nodes[nid]
        for label, target in edges(n):
            if target not in nodes:
                continue
            after = known[nid] | _sets(n, label)
            before = known.get(target)
            merged = after if before is None else before & after
            if before is None or merged != before:
                known[target] = merged
                todo.append(target)
    secret_names = set(secrets) if secrets is not None else None
    out: list[Problem] = []
    for nid, have in known.items():
        for name in sorted(_uses(nodes[nid])):
            # A call campaign's list fills ``campaign.*`` (voice/campaigns.py) per customer.
            if name in BUILTIN_VARIABLES or name.startswith(("contact.attributes.", "campaign.")):
                continue
            if name.startswith("secret."):
                if secret_names is not None and name[7:] not in secret_names:
                    out.append(Problem(nid, "unknown_secret", f"no stored secret {name[7:]!r}"))
                continue
            if name not in have:
                why = "no step sets it" if name not in everything else "a path reaches here first"
                out.append(
                    Problem(nid, "variable_before_set", f"{{{{{name}}}}} is used before set: {why}")
                )
    return out


def _faq(graph: Graph, nodes: dict[str, Any], languages: list[str]) -> list[Problem]:
    out: list[Problem] = []
    uses_faq = any(
        isinstance(n, FaqNode) or (isinstance(n, MenuNode) and n.faq) for n in nodes.values()
    )
    if uses_faq and not graph.faq:
        first = next(
            n.id
            for n in nodes.values()
            if isinstance(n, FaqNode) or (isinstance(n, MenuNode) and n.faq)
        )
        out.append(Problem(first, "faq_empty", "the flow answers questions but has no FAQ entries"))
    keys: set[str] = set()
    for intent in graph.faq:
        if intent.key in keys:
            out.append(Problem(None, "faq_duplicate", f"two FAQ entries are called {intent.key!r}"))
        keys.add(intent.key)
        if not any(x.strip() for xs in intent.examples.values() for x in xs):
            out.append(
                Problem(None, "faq_no_examples", f"FAQ {intent.key!r} has no example phrases")
            )
        missing = [lang for lang in languages if not (intent.answer.get(lang) or "").strip()]
        if missing:
            out.append(
                Problem(
                    None,
                    "missing_translation",
                    f"FAQ {intent.key!r} has no {', '.join(missing)} answer",
                )
            )
    return out
