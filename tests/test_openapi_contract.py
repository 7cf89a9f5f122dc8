"""The OpenAPI schema tells the truth: schemathesis generates requests from /openapi.json
against a live server, as an admin, an agent and someone not signed in, and finds no server
error, no status code the schema does not document, and no wrong content type or header.

A bounded run (three examples per operation); the longer run is in docs/security.md. The
coverage phase (boundary and negative values of every field: 11,000 cases, 80 % of the run's
time) runs as the admin, who reaches every operation's validation; the agent and the
anonymous caller, refused most operations before their bodies are read, get the fuzzing and
stateful phases. That a
request the schema calls valid is accepted (ST202) is checked for the operations of
ACCEPTING: elsewhere see docs/security.md, "API contract". What the earlier runs found is
pinned below without schemathesis.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import sys
import typing
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import BaseModel

from tests.conftest import Demo, LiveServer, bearer, staff_token

CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "negative_data_rejection",
        "unsupported_method",
        "allow_header_conformance",
    ]
)
# Ending one's own sessions in the middle of the run would sign the run out. The calendars'
# and the reports' time zone is an enum of every zone (about 600): some 2,000 cases per
# operation, left to the long run (docs/security.md) to keep this one short.
EXCLUDE = "logout-everywhere|/sessions|/sla/calendars|/reports/(summary|breakdown|heatmap|export)"
# Operations whose schema-valid requests are accepted, or refused as not found (404: an id of
# nothing in the workspace), as conflicting with what is stored (409: a name already taken)
# or for access; never as invalid (422), except where schemathesis.toml says why.
ACCEPTING = (
    r"^/api/v1/(canned|sla/policies|routing/|autoreplies|contacts/\{contact_id\}/merge$"
    r"|conversations$|conversations/\{conv_id\}/(messages|assign|transfer)$"
    r"|teams|queues$|queues/\{queue_id\}$|inboxes|users$|users/\{user_id\}$"
    r"|bi/|reports/(targets|saved)|bots/(flows|secrets)|surveys/(send|settings)|notifications"
    r"|voice/(stats|callbacks$|campaigns$|queues/))"
)
CONFIG = Path(__file__).resolve().parents[1] / "schemathesis.toml"


def _phases(who: str) -> list[str]:
    return [] if who == "admin" else ["--phases", "fuzzing,stateful"]


def _st() -> str:
    found = shutil.which("st") or str(Path(sys.executable).parent / "st")
    if not Path(found).exists():
        pytest.skip("schemathesis is not installed (pip install -e '.[dev]')")
    return found


# The contract does not depend on the database: one backend is enough.
@pytest.mark.sqlite_only
@pytest.mark.parametrize("who", ["admin", "agent", "anonymous"])
async def test_the_schema_tells_the_truth(
    live_server: LiveServer, demo: Demo, backend: str, who: str, tmp_path: Path
) -> None:
    headers: list[str] = []
    if who != "anonymous":
        async with httpx.AsyncClient(base_url=live_server.url, timeout=10) as http:
            token = await staff_token(http, f"{who}@demo.omniline", f"demo-{who}")
        headers = ["-H", f"Authorization: Bearer {token}"]
    proc = await asyncio.create_subprocess_exec(
        _st(), "run", f"{live_server.url}/openapi.json",
        "--checks", CHECKS, "--max-examples", "3", "--seed", "1",
        "--exclude-path-regex", EXCLUDE, "--no-color", *headers, *_phases(who),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, cwd=tmp_path,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(proc.communicate(), 300)
    text = out.decode(errors="replace")
    assert proc.returncode == 0, text[-6000:]
    assert "No issues found" in text or " passed" in text, text[-2000:]


@pytest.mark.sqlite_only
@pytest.mark.parametrize("who", ["admin", "agent"])
async def test_schema_valid_requests_are_accepted(
    live_server: LiveServer, demo: Demo, backend: str, who: str, tmp_path: Path
) -> None:
    """A name already taken, an id of nothing, a reorder leaving a rule out and the list
    cursor were refused as invalid (422) though the schema called the request valid; so were
    zones, keys and statuses the newer APIs' schemas did not list, 2.0 for whole numbers, the
    bot graph, and what is stored (a phone conversation, a mailbox without SMTP)."""
    async with httpx.AsyncClient(base_url=live_server.url, timeout=10) as http:
        token = await staff_token(http, f"{who}@demo.omniline", f"demo-{who}")
    proc = await asyncio.create_subprocess_exec(
        _st(), "--config-file", str(CONFIG), "run", f"{live_server.url}/openapi.json",
        "--checks", "not_a_server_error,status_code_conformance,positive_data_acceptance",
        "--max-examples", "3", "--seed", "1", "--include-path-regex", ACCEPTING, "--no-color",
        "-H", f"Authorization: Bearer {token}", *_phases(who),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, cwd=tmp_path,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(proc.communicate(), 300)
    text = out.decode(errors="replace")
    assert proc.returncode == 0, text[-6000:]
    assert "No issues found" in text or " passed" in text, text[-2000:]


def _fixed_words_beside_parameters(app: object) -> dict[str, set[str]]:
    """Paths such as /autoreplies/preview where a sibling path has a parameter in that place
    (/autoreplies/{rule_id}), with the methods the schema declares for each."""
    paths = app.openapi()["paths"]  # type: ignore[attr-defined]
    found: dict[str, set[str]] = {}
    for fixed in paths:
        for other in paths:
            words, segs = fixed.split("/"), other.split("/")
            if len(segs) != len(words) or other == fixed:
                continue
            pairs = list(zip(words, segs, strict=True))
            if all(a == b or (b.startswith("{") and not a.startswith("{")) for a, b in pairs):
                found[fixed] = {m.upper() for m in paths[fixed]}
    return found


async def test_a_fixed_word_beside_an_id_answers_405_with_its_methods(
    client: httpx.AsyncClient, app: object
) -> None:
    """PUT /api/v1/autoreplies/preview used to reach PUT /autoreplies/{rule_id} (a 422 for a
    rule id that is a word): schemathesis ST204."""
    found = _fixed_words_beside_parameters(app)
    assert "/api/v1/autoreplies/preview" in found and "/api/v1/routing/rules/reorder" in found
    for path, methods in found.items():
        allowed = set(methods) | ({"HEAD"} if "GET" in methods else set())
        for method in {"GET", "PUT", "PATCH", "DELETE", "POST"} - allowed:
            r = await client.request(method, path, json={})
            assert r.status_code == 405, (method, path, r.text)
            assert set(r.headers["allow"].split(", ")) == allowed, (method, path)


@pytest.mark.parametrize("until", ["0.5", "1700000000", "2026-01-31"])
async def test_the_audit_log_takes_times_as_the_schema_says(
    client: httpx.AsyncClient, demo: Demo, until: str
) -> None:
    """A number was read as a Unix time (ST201): the schema says RFC 3339 text."""
    admin = bearer(await staff_token(client, "admin@demo.omniline", "demo-admin"))
    r = await client.get("/api/v1/audit", params={"until": until}, headers=admin)
    assert r.status_code == 422, r.text
    r = await client.get("/api/v1/audit", params={"until": "2026-01-31T00:00:00Z"}, headers=admin)
    assert r.status_code == 200, r.text


HOOK = {"url": "https://crm.example/hooks", "event_types": ["message.created"]}


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("PUT", "/api/v1/privacy/retention", {"retention_days": True}),
        ("POST", "/api/v1/canned", {"shortcut": "hi", "title": "Hi", "text": "Hi", "shared": 1}),
        ("POST", "/api/v1/webhooks", {**HOOK, "enabled": 0}),
        ("POST", "/api/v1/contacts/1/erase", {"confirm": False}),
        ("POST", "/api/v1/contacts/1/erase", {}),
    ],
)  # fmt: skip
async def test_a_json_body_of_the_wrong_type_is_refused(
    client: httpx.AsyncClient, demo: Demo, method: str, path: str, body: dict[str, object]
) -> None:
    """Lax parsing took true for 1 and 0 for false (ST201); the schema says which JSON type."""
    admin = bearer(await staff_token(client, "admin@demo.omniline", "demo-admin"))
    r = await client.request(method, path, json=body, headers=admin)
    assert r.status_code == 422, r.text


async def test_whole_numbers_and_big_ids_are_read_as_the_schema_says(
    client: httpx.AsyncClient, demo: Demo, app: object
) -> None:
    """2.0 is an integer to JSON Schema; ids stop at 2**53 - 1, a bound a double holds
    exactly (2**63 - 1 reads as 2**63, so clients took 2**63 + 100 for a valid id)."""
    admin = bearer(await staff_token(client, "admin@demo.omniline", "demo-admin"))
    r = await client.put("/api/v1/privacy/retention", json={"retention_days": 400.0}, headers=admin)
    assert r.status_code == 200 and r.json()["retention_days"] == 400, r.text
    schema = app.openapi()["components"]["schemas"]["MergeIn"]["properties"]["other_id"]  # type: ignore[attr-defined]
    assert schema["maximum"] == 2**53 - 1 == float(2**53 - 1)
    r = await client.post("/api/v1/contacts/1/merge", json={"other_id": 2**53}, headers=admin)
    assert r.status_code == 422, r.text


@pytest.mark.parametrize(
    ("schema", "field"),
    [
        ("CannedIn", "shortcut"), ("CannedIn", "title"), ("CannedIn", "text"),
        ("ReplyIn", "text"), ("RuleIn", "name"), ("TextIn", "text"), ("PreviewIn", "text"),
        ("SubscriptionIn", "url"), ("CalendarIn", "name"), ("PolicyIn", "name"),
        ("RoutingRuleIn", "name"),
    ],
)  # fmt: skip
def test_the_schema_refuses_blank_texts_the_services_refuse(
    app: object, schema: str, field: str
) -> None:
    """Empty names and texts were schema-valid and refused with 422 (ST202)."""
    prop = app.openapi()["components"]["schemas"][schema]["properties"][field]  # type: ignore[attr-defined]
    for blank in ("", " ", "\t\n", "\x1c"):
        assert not re.search(prop["pattern"], blank), (schema, field, blank)


def test_operations_allowed_a_422_exist_and_say_why(app: object) -> None:
    """schemathesis.toml lets a few operations refuse a schema-valid body with 422; each must
    still exist, and document in its 422 answer which rule the schema cannot state."""
    import tomllib

    from omniline.kit.openapi import COMMON

    paths = app.openapi()["paths"]  # type: ignore[attr-defined]
    config = tomllib.loads(CONFIG.read_text(encoding="utf-8"))
    names: list[str] = []
    for op in config["operations"]:
        found = op["include-name"]
        names += [found] if isinstance(found, str) else found
        statuses = op["checks"]["positive_data_acceptance"]["expected-statuses"]
        assert "422" in statuses and {"404", "409"} <= set(statuses)
    assert names
    for name in names:
        method, path = name.split(" ", 1)
        response = paths[path][method.lower()]["responses"]["422"]
        assert response["description"] != COMMON["422"], name
        assert response["content"]["application/json"]["schema"]["$ref"].endswith("/Error")


def test_a_file_download_documents_that_it_is_a_file(app: object) -> None:
    """GET /attachments/{id} answered image/png where the schema said JSON (ST105)."""
    paths = app.openapi()["paths"]  # type: ignore[attr-defined]
    content = paths["/api/v1/attachments/{attachment_id}"]["get"]["responses"]["200"]["content"]
    assert content["*/*"]["schema"] == {"type": "string", "format": "binary"}


def _fits(doc: dict[str, Any], schema: dict[str, Any], instance: object) -> bool:
    """Whether ``instance`` is valid for ``schema`` (with the document's $refs), as a client
    reading /openapi.json, such as schemathesis, would judge it."""
    import jsonschema_rs

    return bool(jsonschema_rs.is_valid({**schema, "components": doc["components"]}, instance))


def _body(doc: dict[str, Any], method: str, path: str, media: str = "application/json") -> Any:
    return doc["paths"][path][method]["requestBody"]["content"][media]["schema"]


def _query(doc: dict[str, Any], method: str, path: str, name: str) -> Any:
    (found,) = [p for p in doc["paths"][path][method]["parameters"] if p["name"] == name]
    return found["schema"]


def test_the_newer_apis_schemas_state_what_their_services_refuse(app: object) -> None:
    """Requests valid by these schemas were refused with 422 (schemathesis ST202, the long run
    of docs/security.md): zones, statuses, language keys, metric keys and secret names the
    schema did not list, two fields of which one is needed or only one allowed, and the bot
    graph, import and translations bodies that were any object or any text."""
    doc = app.openapi()  # type: ignore[attr-defined]
    tz = _query(doc, "get", "/api/v1/reports/summary", "tz")
    assert _fits(doc, tz, "Europe/Kyiv") and not _fits(doc, tz, "0")
    status = _query(doc, "get", "/api/v1/voice/callbacks", "status")
    assert _fits(doc, status, "pending") and not _fits(doc, status, "0")
    secret = _query(doc, "put", "/api/v1/bots/secrets/{name}", "name")
    assert _fits(doc, secret, "crm_token") and not _fits(doc, secret, "0" * 63)

    template = _body(doc, "post", "/api/v1/notifications/templates")
    assert _fits(doc, template, {"key": "due", "texts": {"en": "Due", "uk-ua": "Сплатіть"}})
    assert not _fits(doc, template, {"key": "due", "texts": {"": "Due"}})
    assert not _fits(doc, template, {"key": "Due!", "texts": {"en": "Due"}})
    surveys = _body(doc, "put", "/api/v1/surveys/settings/{inbox_id}")
    assert _fits(doc, surveys, {"texts": {"en": {"question": "Rate us"}}})
    assert not _fits(doc, surveys, {"texts": {"\x82tv": []}})
    targets = _body(doc, "put", "/api/v1/reports/targets")
    assert _fits(doc, targets, {"targets": {"service_level": 0.9, "asa_s": None}})
    for bad in ({"": 2.0}, {"service_level": 2.0}, {}):
        assert not _fits(doc, targets, {"targets": bad}), bad

    send = _body(doc, "post", "/api/v1/surveys/send")
    assert _fits(doc, send, {"trigger": "visit", "contact_id": 5})
    assert not _fits(doc, send, {"trigger": "visit", "contact_id": None})
    queue = _body(doc, "put", "/api/v1/voice/queues/{queue_id}")
    assert _fits(doc, queue, {"overflow_to_queue_id": 2, "overflow_to_number": None})
    assert not _fits(doc, queue, {"overflow_to_queue_id": 2, "overflow_to_number": "+3805000"})
    campaign = _body(doc, "post", "/api/v1/voice/campaigns")
    assert _fits(doc, campaign, {"inbox_id": 1, "name": "A", "mode": "agent"})
    for bad in ({"mode": "bot"}, {"mode": "agent", "hours": "09:00-09:00"}, {"name": " "}):
        assert not _fits(doc, campaign, {"inbox_id": 1, "name": "A", **bad}), bad

    graph = {"start": "a", "nodes": [{"id": "a", "type": "end", "text": {"en": "Bye"}}]}
    flow = _body(doc, "post", "/api/v1/bots/flows")
    assert _fits(doc, flow, {"key": "main", "name": "Main", "graph": graph})
    assert not _fits(doc, flow, {"key": "main", "name": "Main", "graph": {"graph": {}}})
    flow_import = _body(doc, "post", "/api/v1/bots/flows/import")
    assert _fits(doc, flow_import, {"key": "main", **graph})
    assert not _fits(doc, flow_import, graph)  # no key
    csv_body = _body(doc, "put", "/api/v1/bots/flows/{flow_id}/translations", "text/csv")
    assert _fits(doc, csv_body, "text,en,ru\nmenu/text,Hello,Привет\n")
    assert not _fits(doc, csv_body, "") and not _fits(doc, csv_body, "text\n")


def _ints(t: object) -> bool:
    """Whether a type takes an int (a union with float takes 2.0 as a float anyway)."""
    args = typing.get_args(t)
    return t is int or (float not in args and any(_ints(a) for a in args))


def _models(t: object) -> list[type[BaseModel]]:
    found = [t] if isinstance(t, type) and issubclass(t, BaseModel) else []
    return found + [m for a in typing.get_args(t) for m in _models(a)]


def _not_whole(model: type[BaseModel], seen: set[type[BaseModel]]) -> list[str]:
    """Fields of ``model`` (and the models in it) that take an int without kit.ids.WHOLE."""
    if model in seen:
        return []
    seen.add(model)
    missing = []
    for name, field in model.model_fields.items():
        if _ints(field.annotation) and "_whole" not in repr(field) + repr(field.annotation):
            missing.append(f"{model.__module__}.{model.__name__}.{name}")
        for sub in _models(field.annotation):
            missing += _not_whole(sub, seen)
    return missing


def test_every_whole_number_of_a_json_body_takes_2_0(app: object) -> None:
    """JSON bodies are read strictly, which refused 2.0 for a whole number (ST202) where a
    field lacked kit.ids.WHOLE: campaigns, voice queues, saved reports' hour."""
    from fastapi.routing import APIRoute

    def routes(items: list[Any]) -> list[Any]:
        out = []
        for r in items:
            inner = getattr(r, "original_router", None)
            out += routes(inner.routes) if inner is not None else [r]
        return out

    seen: set[type[BaseModel]] = set()
    missing = []
    for route in routes(app.routes):  # type: ignore[attr-defined]
        if isinstance(route, APIRoute) and route.body_field is not None:
            for sub in _models(route.body_field.field_info.annotation):
                missing += _not_whole(sub, seen)
    assert not missing, missing


def test_a_key_pattern_of_a_map_is_stated_for_every_key(app: object) -> None:
    """pydantic states the key pattern of a dict only as patternProperties, which leaves any
    other key valid: the language keys of bot texts and survey texts were schema-valid and
    refused (ST202). Every map with a key pattern also has it as propertyNames."""
    loose: list[str] = []

    def walk(node: object, where: str) -> None:
        if isinstance(node, dict):
            if "patternProperties" in node and "pattern" not in node.get("propertyNames", {}):
                loose.append(where)
            for key, value in node.items():
                walk(value, f"{where}/{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{where}/{i}")

    walk(app.openapi(), "")  # type: ignore[attr-defined]
    assert not loose, loose


@pytest.mark.parametrize(
    ("texts", "status"),
    [({"ab": "2", "": ""}, 422), ({"en": "Due", "UK ": "Сплатіть", "ru": " "}, 201)],
)
async def test_template_languages_are_read_as_the_schema_says(
    client: httpx.AsyncClient, demo: Demo, app: object, texts: dict[str, str], status: int
) -> None:
    """A blank text's key was not checked (ST201: "" accepted as a language), and the schema
    did not say that capitals and spaces around a language code are taken."""
    doc = app.openapi()  # type: ignore[attr-defined]
    body = {"key": "due", "texts": texts}
    assert _fits(doc, _body(doc, "post", "/api/v1/notifications/templates"), body) == (
        status == 201
    )
    admin = bearer(await staff_token(client, "admin@demo.omniline", "demo-admin"))
    r = await client.post("/api/v1/notifications/templates", json=body, headers=admin)
    assert r.status_code == status, r.text
