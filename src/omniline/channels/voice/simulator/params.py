"""Reading ARI request parameters the way Asterisk does."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from omniline.channels.voice.simulator.traffic import World
from omniline.channels.voice.simulator.world import AriError


def world_of(request: Request) -> World:
    world: World = request.app.state.world
    return world


async def params_of(request: Request) -> dict[str, Any]:
    """Query parameters, overridden by a JSON body's keys (ARI reads both)."""
    out: dict[str, Any] = dict(request.query_params)
    body = await request.body()
    if body and "json" in request.headers.get("content-type", "json"):
        try:
            data = json.loads(body)
        except ValueError as exc:
            raise AriError(400, "Invalid JSON body") from exc
        if isinstance(data, dict):
            out.update(data)
    return out


def as_int(params: dict[str, Any], key: str, default: int) -> int:
    value = params.get(key)
    if value in (None, ""):
        return default
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise AriError(400, f"Invalid value for parameter {key}") from exc


def as_bool(value: Any) -> bool:
    return str(value).lower() in ("1", "true", "yes")


def split(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value]
    return [p.strip() for item in items if item for p in str(item).split(",") if p.strip()]


def no_content() -> Response:
    return Response(status_code=204)
