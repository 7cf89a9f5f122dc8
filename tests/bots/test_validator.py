"""The validator names every problem a flow builder can make, at its node."""

from __future__ import annotations

from typing import Any

import pytest

from omniline.bots.graph import Graph
from omniline.bots.validator import validate


def flow(*nodes: dict[str, Any], languages: tuple[str, ...] = ("en",), **extra: Any) -> Graph:
    body: dict[str, Any] = {"languages": list(languages), "fallback_language": languages[0]}
    body["start"] = nodes[0]["id"] if nodes else None
    body["nodes"] = list(nodes)
    body.update(extra)
    return Graph.model_validate(body)


def codes(graph: Graph, **kw: Any) -> set[tuple[str | None, str]]:
    return {(p.node, p.code) for p in validate(graph, **kw)}


END = {"id": "bye", "type": "end", "text": {"en": "Bye"}}


def test_a_good_flow_has_no_problems() -> None:
    g = flow(
        {
            "id": "menu",
            "type": "menu",
            "text": {"en": "Hi", "ru": "Привет"},
            "options": [
                {"label": {"en": "Status", "ru": "Статус"}, "next": "ask"},
                {"label": {"en": "Person", "ru": "Человек"}, "next": "person"},
            ],
        },
        {
            "id": "ask",
            "type": "ask",
            "text": {"en": "Phone?", "ru": "Телефон?"},
            "variable": "phone",
            "check": "phone",
            "next": "crm",
        },
        {
            "id": "crm",
            "type": "http",
            "url": "https://crm.example/loans?phone={{phone}}",
            "save": {"status": "data.status"},
            "next": "say",
            "error": "person",
        },
        {"id": "say", "type": "message", "text": {"en": "It is {{status}}", "ru": "{{status}}"},
         "next": "bye"},
        {"id": "person", "type": "handoff"},
        {"id": "bye", "type": "end", "text": {"en": "Bye", "ru": "Пока"}},
        languages=("en", "ru"),
    )  # fmt: skip
    assert validate(g) == []


def test_start_missing_or_gone() -> None:
    assert (None, "no_start") in codes(Graph.model_validate({"nodes": [END]}))
    g = Graph.model_validate({"start": "nope", "nodes": [END]})
    assert (None, "missing_start") in codes(g)


def test_edges_to_missing_nodes_and_unreachable_nodes() -> None:
    g = flow({"id": "a", "type": "message", "text": {"en": "x"}, "next": "ghost"}, END)
    found = codes(g)
    assert ("a", "missing_target") in found
    assert ("bye", "unreachable") in found


def test_dead_ends() -> None:
    g = flow({"id": "a", "type": "message", "text": {"en": "x"}})
    assert ("a", "dead_end") in codes(g)
    g = flow({"id": "a", "type": "ask", "text": {"en": "x"}, "variable": "v"})
    assert ("a", "dead_end") in codes(g)


def test_missing_translations_in_an_enabled_language() -> None:
    g = flow(
        {"id": "a", "type": "message", "text": {"en": "Hello", "ru": ""}, "next": "bye"},
        {"id": "bye", "type": "end", "text": {"en": "Bye", "ru": "Пока"}},
        languages=("en", "ru"),
    )
    problems = [p for p in validate(g) if p.code == "missing_translation"]
    assert [(p.node, "ru" in p.message) for p in problems] == [("a", True)]


def test_menu_option_labels_need_every_language() -> None:
    g = flow(
        {
            "id": "m",
            "type": "menu",
            "text": {"en": "Pick", "uk": "Оберіть"},
            "options": [{"label": {"en": "One"}, "next": "bye"}],
        },
        {"id": "bye", "type": "end", "text": {"en": "Bye", "uk": "Бувайте"}},
        languages=("en", "uk"),
    )
    assert any(
        p.code == "missing_translation" and "options[0].label" in p.message for p in validate(g)
    )


def test_variable_used_before_it_can_be_set() -> None:
    g = flow(
        {"id": "a", "type": "message", "text": {"en": "Your loan is {{status}}"}, "next": "bye"},
        END,
    )
    assert ("a", "variable_before_set") in codes(g)


def test_variable_set_on_one_path_only() -> None:
    g = flow(
        {
            "id": "m",
            "type": "menu",
            "text": {"en": "?"},
            "options": [
                {"label": {"en": "ask"}, "next": "ask"},
                {"label": {"en": "skip"}, "next": "say"},
            ],
        },
        {"id": "ask", "type": "ask", "text": {"en": "Name?"}, "variable": "name", "next": "say"},
        {"id": "say", "type": "message", "text": {"en": "Hi {{name}}"}, "next": "bye"},
        END,
    )
    assert ("say", "variable_before_set") in codes(g)
    # Built-in names are always there.
    g2 = flow(
        {"id": "say", "type": "message", "text": {"en": "Hi {{contact.name}}"}, "next": "bye"},
        END,
    )
    assert validate(g2) == []


def test_http_error_branch_does_not_set_the_saved_variables() -> None:
    g = flow(
        {
            "id": "crm",
            "type": "http",
            "url": "https://crm.example/x",
            "save": {"amount": "amount"},
            "next": "bye",
            "error": "sorry",
        },
        {"id": "sorry", "type": "message", "text": {"en": "{{amount}}"}, "next": "bye"},
        END,
    )
    assert ("sorry", "variable_before_set") in codes(g)


def test_menu_without_options() -> None:
    g = flow(
        {"id": "m", "type": "menu", "text": {"en": "?"}, "options": [], "no_match": "bye"}, END
    )
    assert ("m", "menu_without_options") in codes(g)


def test_loop_with_no_customer_input() -> None:
    g = flow(
        {"id": "a", "type": "set", "name": "x", "value": "1", "next": "b"},
        {
            "id": "b",
            "type": "condition",
            "branches": [{"all": [{"subject": "var.x", "op": "eq", "value": "2"}], "next": "bye"}],
            "otherwise": "a",
        },
        END,
    )
    assert ("a", "loop_without_input") in codes(g)


def test_a_loop_through_a_menu_is_fine() -> None:
    g = flow(
        {
            "id": "m",
            "type": "menu",
            "text": {"en": "?"},
            "options": [
                {"label": {"en": "again"}, "next": "say"},
                {"label": {"en": "stop"}, "next": "bye"},
            ],
        },
        {"id": "say", "type": "message", "text": {"en": "Again"}, "next": "m"},
        END,
    )
    assert validate(g) == []


def test_http_without_error_branch() -> None:
    g = flow({"id": "crm", "type": "http", "url": "https://crm.example/x", "next": "bye"}, END)
    assert ("crm", "http_without_error") in codes(g)


@pytest.mark.parametrize(
    "node",
    [
        {"id": "a", "type": "ask", "text": {"en": "?"}, "variable": "v", "check": "pattern",
         "pattern": "([0-9]+", "next": "bye"},
        {"id": "a", "type": "condition", "otherwise": "bye",
         "branches": [{"all": [{"subject": "var.v", "op": "matches", "value": "*x"}],
                       "next": "bye"}]},
    ],
)  # fmt: skip
def test_invalid_patterns(node: dict[str, Any]) -> None:
    assert ("a", "invalid_pattern") in codes(flow(node, END))


def test_jumps_name_existing_flows_and_not_themselves() -> None:
    g = flow({"id": "j", "type": "jump", "flow": "other"})
    assert ("j", "unknown_flow") in codes(g, flow_key="main", flows=["main"])
    assert validate(g, flow_key="main", flows=["main", "other"]) == []
    assert ("j", "jump_to_self") in codes(g, flow_key="other", flows=["other"])


def test_unknown_queue_and_secret() -> None:
    g = flow(
        {
            "id": "crm",
            "type": "http",
            "url": "https://crm.example/x",
            "headers": {"Authorization": "Bearer {{secret.crm_token}}"},
            "next": "h",
            "error": "h",
        },
        {"id": "h", "type": "handoff", "queue": "Complaints"},
    )
    found = codes(g, queues=["General"], secrets=[])
    assert ("crm", "unknown_secret") in found and ("h", "unknown_queue") in found
    assert validate(g, queues=["Complaints"], secrets=["crm_token"]) == []


def test_faq_needs_entries_with_examples_and_answers() -> None:
    g = flow({"id": "f", "type": "faq", "text": {"en": "Ask"}, "next": "bye"}, END)
    assert ("f", "faq_empty") in codes(g)
    g = flow(
        {"id": "f", "type": "faq", "text": {"en": "Ask", "ru": "?"}, "next": "bye"},
        {"id": "bye", "type": "end", "text": {"en": "Bye", "ru": "Пока"}},
        languages=("en", "ru"),
        faq=[{"key": "card", "examples": {"en": []}, "answer": {"en": "Call us"}}],
    )
    found = codes(g)
    assert (None, "faq_no_examples") in found and (None, "missing_translation") in found


def test_each_problem_names_its_node_and_says_what_to_do() -> None:
    g = flow({"id": "a", "type": "message", "text": {"en": "x"}})
    (p,) = validate(g)
    assert p.node == "a" and "end" in p.message
