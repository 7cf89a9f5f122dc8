"""The OpenAPI schema tells the truth: schemathesis generates requests from /openapi.json
against a live server, as an admin, an agent and someone not signed in, and finds no server
error, no status code the schema does not document, and no wrong content type or header.

A bounded run (a few examples per operation); the longer run is in docs/security.md. That a
request the schema calls valid is accepted (ST202) is checked for the operations of
ACCEPTING: elsewhere see docs/security.md, "API contract". What the earlier runs found is
pinned below without schemathesis.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import sys
from pathlib import Path

import httpx
import pytest

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
# time zone is an enum of every zone (about 600): some 2,000 cases per run, left to the long
# run (docs/security.md) to keep this one short.
EXCLUDE = "logout-everywhere|/sessions|/sla/calendars"
# Operations whose schema-valid requests are accepted, or refused as not found (404: an id of
# nothing in the workspace), as conflicting with what is stored (409: a name already taken)
# or for access; never as invalid (422), except where schemathesis.toml says why.
ACCEPTING = (
    r"^/api/v1/(canned|sla/policies|routing/|autoreplies|contacts/\{contact_id\}/merge$"
    r"|conversations$|conversations/\{conv_id\}/(messages|assign|transfer)$"
    r"|teams|queues$|queues/\{queue_id\}$|inboxes|users$|users/\{user_id\}$)"
)
CONFIG = Path(__file__).resolve().parents[1] / "schemathesis.toml"


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
        "--checks", CHECKS, "--max-examples", "5", "--seed", "1",
        "--exclude-path-regex", EXCLUDE, "--no-color", *headers,
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
    cursor were refused as invalid (422) though the schema called the request valid."""
    async with httpx.AsyncClient(base_url=live_server.url, timeout=10) as http:
        token = await staff_token(http, f"{who}@demo.omniline", f"demo-{who}")
    proc = await asyncio.create_subprocess_exec(
        _st(), "--config-file", str(CONFIG), "run", f"{live_server.url}/openapi.json",
        "--checks", "not_a_server_error,status_code_conformance,positive_data_acceptance",
        "--max-examples", "5", "--seed", "1", "--include-path-regex", ACCEPTING, "--no-color",
        "-H", f"Authorization: Bearer {token}",
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
