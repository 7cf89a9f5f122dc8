"""Errors are JSON of one shape; health; the OpenAPI schema covers docs/api.md."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from tests.conftest import Demo

API_DOC = Path(__file__).resolve().parents[1] / "docs" / "api.md"
METHOD_PATH = re.compile(r"`(GET|POST|PUT|PATCH|DELETE) (/[^`\s?]*)[^`]*`((?: and `/\w+`)*)")


def documented_operations() -> set[tuple[str, str]]:
    """Every ``METHOD /path`` of docs/api.md, path parameters written as ``{}``."""
    found: set[tuple[str, str]] = set()
    for method, path, extra in METHOD_PATH.findall(API_DOC.read_text(encoding="utf-8")):
        paths = [path]
        # "`POST /api/v1/conversations/{id}/resolve` and `/reopen`"
        for sibling in re.findall(r"`(/\w+)`", extra):
            paths.append(path.rsplit("/", 1)[0] + sibling)
        for p in paths:
            found.add((method, re.sub(r"\{[^}]*\}", "{}", p)))
    return found


@pytest.mark.parametrize(
    "path", ["/no/such/page", "/api/v1/nothing-here", "/api/v1/conversations/1/nope"]
)
async def test_unknown_path_is_json_404(client: httpx.AsyncClient, path: str) -> None:
    r = await client.get(path)
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/json")
    error = r.json()["error"]
    assert error["code"] == "not_found"
    assert error["message"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("DELETE", "/api/v1/conversations"),
        ("GET", "/api/v1/auth/login"),
        ("PUT", "/api/v1/widget/sessions"),
        ("POST", "/healthz"),
    ],
)
async def test_wrong_method_is_json_405(client: httpx.AsyncClient, method: str, path: str) -> None:
    r = await client.request(method, path)
    assert r.status_code == 405, r.text
    assert r.headers["content-type"].startswith("application/json")
    assert r.json()["error"]["code"] == "method_not_allowed"
    assert r.headers.get("allow")


async def test_health(client: httpx.AsyncClient) -> None:
    r = await client.get("/healthz")
    assert r.status_code == 200
    assert r.json()["status"] == "ok"  # alive; /readyz checks the database (tests/ops)


async def test_openapi_lists_the_documented_paths(client: httpx.AsyncClient, demo: Demo) -> None:
    documented = documented_operations()
    # The parse of the document itself must not quietly shrink.
    assert ("GET", "/healthz") in documented
    assert ("POST", "/api/v1/conversations/{}/reopen") in documented
    assert ("GET", "/api/v1/users") in documented
    assert len(documented) >= 20

    r = await client.get("/openapi.json")
    assert r.status_code == 200
    schema = r.json()
    served = {
        (method.upper(), re.sub(r"\{[^}]*\}", "{}", path))
        for path, ops in schema["paths"].items()
        for method in ops
    }
    assert sorted(documented - served) == []
    # Pages and sockets are not part of the HTTP API description.
    assert not any(path in {"/login", "/app", "/logout"} for _, path in served)
