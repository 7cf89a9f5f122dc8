"""ARI's bridges, playbacks and recordings resources."""

from __future__ import annotations

import io
import uuid
import wave
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from omniline.channels.voice.simulator import events as ev
from omniline.channels.voice.simulator.params import no_content, params_of, split, world_of
from omniline.channels.voice.simulator.traffic import World
from omniline.channels.voice.simulator.world import AriError, Bridge

BRIDGE_TYPES = {"mixing", "holding", "dtmf_events", "proxy_media", "video_sfu", "video_single"}


# playbacks --------------------------------------------------------------------------------


async def playback(request: Request) -> Response:
    world = world_of(request)
    if request.method == "GET":
        return JSONResponse(world.get_playback(request.path_params["pid"]).json())
    world.stop_playback(request.path_params["pid"])
    return no_content()


# bridges ----------------------------------------------------------------------------------


async def bridges_list(request: Request) -> Response:
    return JSONResponse([b.json() for b in world_of(request).bridges.values()])


async def bridge_create(request: Request) -> Response:
    world, params = world_of(request), await params_of(request)
    bid = request.path_params.get("bid") or params.get("bridgeId") or str(uuid.uuid4())
    types = set(split(params.get("type")))
    if types - BRIDGE_TYPES:
        raise AriError(400, "Invalid bridge type")
    existing = world.bridges.get(bid)
    if existing is not None:
        if types:
            raise AriError(500, "Supplying a bridge type when updating a bridge is not allowed.")
        return JSONResponse(existing.json())
    kind = "holding" if "holding" in types else "mixing"
    bridge = Bridge(bid, str(params.get("name") or ""), kind, ev.timestamp())
    world.bridges[bid] = bridge
    return JSONResponse(bridge.json())


async def bridge_get(request: Request) -> Response:
    world = world_of(request)
    bridge = world.get_bridge(request.path_params["bid"])
    if request.method == "DELETE":
        world.destroy_bridge(bridge)
        return no_content()
    return JSONResponse(bridge.json())


async def bridge_members(request: Request) -> Response:
    world, params = world_of(request), await params_of(request)
    bridge = world.get_bridge(request.path_params["bid"])
    ids = split(params.get("channel"))
    if not ids:
        raise AriError(400, "Missing parameter channel")
    found = []
    for cid in ids:
        ch = world.channels.get(cid)
        if ch is None:
            raise AriError(400, "Channel not found")
        if ch.stasis_app is None:
            raise AriError(422, "Channel not in Stasis application")
        found.append(ch)
    adding = request.url.path.endswith("/addChannel")
    for ch in found:
        if adding:
            world.join_bridge(bridge, ch)
        elif ch.bridge_id != bridge.id:
            raise AriError(422, "Channel not in this bridge")
        else:
            world.leave_bridge(ch)
    return no_content()


async def bridge_record(request: Request) -> Response:
    world, params = world_of(request), await params_of(request)
    bridge = world.get_bridge(request.path_params["bid"])
    members = [world.channels[c] for c in bridge.channels]
    rec = world.record(f"bridge:{bridge.id}", members, params)
    return JSONResponse(
        rec.json(), status_code=201, headers={"Location": f"/recordings/live/{rec.name}"}
    )


async def bridge_moh(request: Request) -> Response:
    world, params = world_of(request), await params_of(request)
    bridge = world.get_bridge(request.path_params["bid"])
    on = request.method == "POST"
    world.bridge_moh(bridge, (params.get("mohClass") or "default") if on else None)
    return no_content()


# recordings -------------------------------------------------------------------------------


def _stored(world: World, name: str) -> Any:
    rec = world.stored.get(name)
    if rec is None:
        raise AriError(404, "Recording not found")
    return rec


async def stored_list(request: Request) -> Response:
    recs = world_of(request).stored.values()
    return JSONResponse([{"name": r.name, "format": r.format} for r in recs])


async def stored_one(request: Request) -> Response:
    world = world_of(request)
    rec = _stored(world, request.path_params["name"])
    if request.method == "DELETE":
        del world.stored[rec.name]
        return no_content()
    return JSONResponse({"name": rec.name, "format": rec.format})


async def stored_file(request: Request) -> Response:
    rec = _stored(world_of(request), request.path_params["name"])
    seconds = min(max(rec.duration or 0, 0.2), 5.0)  # silence, kept small
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"\x00\x00" * int(8000 * seconds))
    kind = "audio/wav" if rec.format == "wav" else "application/octet-stream"
    return Response(buffer.getvalue(), media_type=kind)


async def live_one(request: Request) -> Response:
    world = world_of(request)
    rec = world.live.get(request.path_params["name"])
    if rec is None:
        raise AriError(404, "Recording not found")
    if request.method == "GET":
        return JSONResponse(rec.json())
    state = "canceled" if request.method == "DELETE" else "done"
    world.stop_recording(rec, apps=world.recording_apps(rec), state=state)
    return no_content()


BR = "/ari/bridges/{bid}"
ROUTES = [
    Route("/ari/playbacks/{pid}", playback, methods=["GET", "DELETE"]),
    Route("/ari/bridges", bridges_list),
    Route("/ari/bridges", bridge_create, methods=["POST"]),
    Route(BR, bridge_get, methods=["GET", "DELETE"]),
    Route(BR, bridge_create, methods=["POST"]),
    Route(BR + "/addChannel", bridge_members, methods=["POST"]),
    Route(BR + "/removeChannel", bridge_members, methods=["POST"]),
    Route(BR + "/record", bridge_record, methods=["POST"]),
    Route(BR + "/moh", bridge_moh, methods=["POST", "DELETE"]),
    Route("/ari/recordings/stored", stored_list),
    Route("/ari/recordings/stored/{name}", stored_one, methods=["GET", "DELETE"]),
    Route("/ari/recordings/stored/{name}/file", stored_file),
    Route("/ari/recordings/live/{name}", live_one, methods=["GET", "DELETE"]),
    Route("/ari/recordings/live/{name}/stop", live_one, methods=["POST"]),
]
