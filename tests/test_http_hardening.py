"""Malformed requests get a 4xx, never a 500; every response carries the security headers
whatever its status; 405 names every allowed method; HSTS with secure cookies."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, get_args

import httpx
import pytest
from fastapi.routing import APIRoute

from omniline.config import Settings
from tests.conftest import Demo, bearer, staff_token

HUGE = 2**63
HEADERS = ("x-content-type-options", "referrer-policy", "content-security-policy")


def api_routes(app: Any) -> Iterator[APIRoute]:
    stack = list(app.routes)
    while stack:
        route = stack.pop(0)
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):
            stack.extend(route.original_router.routes)


def _is_int(annotation: Any) -> bool:
    return annotation is int or int in get_args(annotation)


def huge_requests(app: Any) -> list[tuple[str, str]]:
    """Every route with an integer in its path or query, called with 2^63 in each of them."""
    out = []
    for route in api_routes(app):
        path_params = {f.name: f for f in route.dependant.path_params}
        query_ints = [
            f.name for f in route.dependant.query_params if _is_int(f.field_info.annotation)
        ]
        for method in sorted(route.methods - {"HEAD"}):
            url = route.path
            for name, f in path_params.items():
                value = str(HUGE) if _is_int(f.field_info.annotation) else "x"
                url = url.replace("{" + name + "}", value)
            if any(_is_int(f.field_info.annotation) for f in path_params.values()):
                out.append((method, url))
            for name in query_ints:
                out.append((method, f"{re.sub(r'{[^}]+}', '1', route.path)}?{name}={HUGE}"))
    return out


async def test_no_integer_of_any_size_answers_500(
    app: Any, client: httpx.AsyncClient, demo: Demo
) -> None:
    admin = await staff_token(client, "admin@demo.omniline", "demo-admin")
    visitor = (
        await client.post("/api/v1/widget/sessions", json={"inbox_key": demo.inbox_key})
    ).json()["session_token"]
    shapes = huge_requests(app)
    assert len(shapes) > 40
    crashed = []
    for method, url in shapes:
        token = visitor if url.startswith("/api/v1/widget") else admin
        r = await client.request(method, url, headers=bearer(token), json={})
        if r.status_code >= 500:
            crashed.append(f"{method} {url} -> {r.status_code}")
    assert crashed == []


@pytest.mark.parametrize(
    ("path", "body"),
    [("assign", {"assignee_id": HUGE}), ("transfer", {"queue_id": HUGE, "note": ""})],
)
async def test_ids_inside_a_body_are_bounded(
    client: httpx.AsyncClient, demo: Demo, path: str, body: dict[str, Any]
) -> None:
    admin = await staff_token(client, "admin@demo.omniline", "demo-admin")
    token = (
        await client.post("/api/v1/widget/sessions", json={"inbox_key": demo.inbox_key})
    ).json()["session_token"]
    sent = await client.post("/api/v1/widget/messages", json={"text": "hi"}, headers=bearer(token))
    conv = sent.json()["conversation_id"]
    r = await client.post(f"/api/v1/conversations/{conv}/{path}", json=body, headers=bearer(admin))
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "validation_error"


def test_every_integer_a_client_sends_has_bounds(app: Any) -> None:
    """The OpenAPI schema tells clients the range of every integer they may send (parameters
    and request bodies): new endpoints must use the kit.ids types."""
    schema = app.openapi()
    components = schema.get("components", {}).get("schemas", {})
    unbounded: list[str] = []

    def walk(node: Any, where: str, seen: frozenset[str]) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
                name = ref.rsplit("/", 1)[1]
                if name not in seen:
                    walk(components[name], f"{where}->{name}", seen | {name})
            if node.get("type") == "integer" and "maximum" not in node:
                unbounded.append(where)
            for key, value in node.items():
                walk(value, f"{where}.{key}", seen)
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{where}[{i}]", seen)

    for path, operations in schema["paths"].items():
        for method, op in operations.items():
            walk(op.get("parameters", []), f"{method} {path} parameters", frozenset())
            walk(op.get("requestBody", {}), f"{method} {path} body", frozenset())
    assert unbounded == []


async def test_an_unexpected_error_answers_500_with_the_security_headers(
    app: Any, client: httpx.AsyncClient, demo: Demo, caplog: pytest.LogCaptureFixture
) -> None:
    async def boom() -> None:
        raise RuntimeError("something nobody expected")

    app.add_api_route("/test-only/boom", boom)
    r = await client.get("/test-only/boom")
    assert r.status_code == 500
    assert r.json()["error"]["code"] == "internal_error"
    for header in HEADERS:
        assert header in r.headers, header
    tracebacks = [rec for rec in caplog.records if rec.exc_info]
    assert len(tracebacks) == 1


async def test_405_lists_every_method_of_the_path(client: httpx.AsyncClient, demo: Demo) -> None:
    r = await client.patch("/api/v1/conversations/1/tags")
    assert r.status_code == 405
    assert r.json()["error"]["code"] == "method_not_allowed"
    allowed = {m.strip() for m in r.headers["allow"].split(",")}
    assert {"PUT"} <= allowed
    r = await client.post("/api/v1/routing/rules/1")
    assert r.status_code == 405
    assert {m.strip() for m in r.headers["allow"].split(",")} >= {"PUT", "DELETE"}
    for header in HEADERS:
        assert header in r.headers, header


async def test_the_widget_frame_404_has_a_content_security_policy(
    client: httpx.AsyncClient, demo: Demo
) -> None:
    r = await client.get("/widget/frame", params={"key": "no-such-inbox"})
    assert r.status_code == 404
    assert "content-security-policy" in r.headers
    r = await client.get("/widget/no-such-thing")
    assert r.status_code == 404
    assert "content-security-policy" in r.headers


async def test_hsts_only_with_secure_cookies(settings: Settings, engine: None) -> None:
    from omniline.app import create_app

    for secure, expected in ((False, False), (True, True)):
        app = create_app(settings.model_copy(update={"secure_cookies": secure}))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as c:
            for url in ("/login", "/no-such-page", "/widget/frame?key=none"):
                r = await c.get(url)
                assert ("strict-transport-security" in r.headers) is expected, (secure, url)
