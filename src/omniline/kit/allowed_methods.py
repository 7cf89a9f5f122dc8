"""Which HTTP methods a path allows, across every route that serves it (the ``Allow`` header)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from starlette.routing import BaseRoute, Match
from starlette.types import Scope


def _leaves(routes: list[BaseRoute]) -> Iterator[BaseRoute]:
    for route in routes:
        included = getattr(route, "original_router", None)  # FastAPI's included routers
        if included is not None:
            yield from _leaves(included.routes)
        else:
            yield route


def allowed_methods(app: Any, scope: Scope) -> set[str]:
    allowed: set[str] = set()
    for route in _leaves(app.router.routes):
        methods = getattr(route, "methods", None)
        if not methods:
            continue
        match, _ = route.matches({**scope, "type": "http"})
        if match in (Match.FULL, Match.PARTIAL):
            allowed |= set(methods)
    if "GET" in allowed:
        allowed.add("HEAD")
    return allowed
