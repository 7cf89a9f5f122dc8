"""ARI's REST resources and events socket, the subset Omniline uses (base path /ari)."""

from __future__ import annotations

import io
import json
import uuid
import wave
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from omniline.channels.voice.simulator import events as ev
from omniline.channels.voice.simulator.traffic import World
from omniline.channels.voice.simulator.world import AriError, Bridge

BRIDGE_TYPES = {"mixing", "holding", "dtmf_events", "proxy_media", "video_sfu", "video_single"}


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


# asterisk ---------------------------------------------------------------------------------


async def asterisk_info(request: Request) -> Response:
    world = world_of(request)
    started = ev.timestamp()
    return JSONResponse(
        {
            "build": {"os": "Linux", "kernel": "", "machine": "x86_64", "options": "",
                      "date": "", "user": "omniline"},
            "system": {"version": "20.0.0-omniline-simulator",
                       "entity_id": world.options.asterisk_id},
            "config": {"name": "omniline-simulator", "default_language": world.options.language,
                       "setid": {"user": "asterisk", "group": "asterisk"}},
            "status": {"startup_time": started, "last_reload_time": started},
        }
    )


async def asterisk_ping(request: Request) -> Response:
    world = world_of(request)
    return JSONResponse(
        {"asterisk_id": world.options.asterisk_id, "ping": "pong", "timestamp": ev.timestamp()}
    )


# channels ---------------------------------------------------------------------------------


async def channels_list(request: Request) -> Response:
    return JSONResponse([c.json() for c in world_of(request).channels.values()])


async def channel_get(request: Request) -> Response:
    return JSONResponse(world_of(request).get_channel(request.path_params["cid"]).json())


async def originate(request: Request) -> Response:
    world, params = world_of(request), await params_of(request)
    if "cid" in request.path_params:
        params["channelId"] = request.path_params["cid"]
    endpoint = str(params.get("endpoint") or "")
    if not endpoint:
        raise AriError(400, "Endpoint must be specified")
    if params.get("originator") and params.get("formats"):
        raise AriError(400, "Originator and formats can't both be specified")
    tech, _, resource = endpoint.partition("/")
    if not tech or not resource:
        raise AriError(400, "Invalid endpoint specified")
    app = str(params.get("app") or "")
    if not app and not params.get("extension"):
        raise AriError(400, "Application or extension must be specified")
    if params.get("originator") and params["originator"] not in world.channels:
        raise AriError(400, "Provided originator channel was not found")
    timeout = as_int(params, "timeout", 30)
    ch = world.outbound_channel(endpoint, params, app or None)
    stasis = (app, split(params.get("appArgs"))) if app else None
    snapshot = ch.json()
    world.start_dial(ch, None if timeout == -1 else float(timeout or 30), stasis)
    return JSONResponse(snapshot)


async def channel_create(request: Request) -> Response:
    world, params = world_of(request), await params_of(request)
    endpoint, app = str(params.get("endpoint") or ""), str(params.get("app") or "")
    if not endpoint:
        raise AriError(400, "Endpoint must be specified")
    if not app:
        raise AriError(400, "Application must be specified")
    ch = world.outbound_channel(endpoint, params, app)
    if not world.enter_stasis(ch, app, split(params.get("appArgs"))):
        world.discard(ch)
        raise AriError(500, "Allocation failed")
    return JSONResponse(ch.json())


async def channel_dial(request: Request) -> Response:
    world, params = world_of(request), await params_of(request)
    ch = world.control(request.path_params["cid"], media=False)
    caller = None
    if params.get("caller"):
        caller = world.channels.get(str(params["caller"]))
        if caller is None:
            raise AriError(404, "Caller channel not found")
    if ch.state != "Down" or ch.dialing:
        raise AriError(409, "Channel is not in the 'Down' state")
    timeout = as_int(params, "timeout", 0)
    world.start_dial(ch, float(timeout) if timeout > 0 else None, None, caller)
    return no_content()


async def channel_hangup(request: Request) -> Response:
    world, params = world_of(request), await params_of(request)
    ch = world.get_channel(request.path_params["cid"])
    reason, code = params.get("reason"), params.get("reason_code")
    if reason and code:
        raise AriError(400, "The reason and reason_code can't both be specified")
    if code:
        try:
            cause = int(code)
        except ValueError as exc:
            raise AriError(400, "Invalid reason for hangup reason code provided") from exc
    elif reason:
        if reason not in ev.HANGUP_REASONS:
            raise AriError(400, "Invalid reason for hangup reason provided")
        cause = ev.HANGUP_REASONS[reason]
    else:
        cause = ev.NORMAL
    request_fields = {"cause": ev.SOFTHANGUP_EXPLICIT, "soft": True}
    world.hangup(ch, cause, "app", request=request_fields)
    return no_content()


async def channel_answer(request: Request) -> Response:
    world = world_of(request)
    ch = world.control(request.path_params["cid"])
    world.set_state(ch, "Up")
    return no_content()


async def channel_ring(request: Request) -> Response:
    world = world_of(request)
    world.set_ringing(world.control(request.path_params["cid"]), request.method == "POST")
    return no_content()


async def channel_play(request: Request) -> Response:
    world, params = world_of(request), await params_of(request)
    ch = world.control(request.path_params["cid"])
    media = split(request.query_params.getlist("media") or params.get("media"))
    if as_int(params, "skipms", 3000) < 0:
        raise AriError(400, "skipms cannot be negative")
    pid = request.path_params.get("pid") or params.get("playbackId")
    pb = world.play(ch, media, params.get("lang"), pid, as_int(params, "offsetms", 0))
    return JSONResponse(pb.json(), status_code=201, headers={"Location": f"/playbacks/{pb.id}"})


async def channel_moh(request: Request) -> Response:
    world, params = world_of(request), await params_of(request)
    ch = world.control(request.path_params["cid"])
    on = request.method == "POST"
    world.set_moh(ch, (params.get("mohClass") or "default") if on else None)
    return no_content()


async def channel_hold(request: Request) -> Response:
    world = world_of(request)
    world.set_hold(world.control(request.path_params["cid"]), request.method == "POST")
    return no_content()


async def channel_dtmf(request: Request) -> Response:
    world, params = world_of(request), await params_of(request)
    ch = world.control(request.path_params["cid"])
    digits = str(params.get("dtmf") or "")
    if not digits:
        raise AriError(400, "DTMF is required")
    world.note(ch, "dtmf", digits=digits, dir="out")
    return no_content()


async def channel_redirect(request: Request) -> Response:
    world, params = world_of(request), await params_of(request)
    ch = world.control(request.path_params["cid"])
    endpoint = str(params.get("endpoint") or "")
    if not endpoint:
        raise AriError(400, "Required parameter 'endpoint' not provided.")
    tech, _, resource = endpoint.partition("/")
    if not tech or "/" not in endpoint:
        raise AriError(422, f"Endpoint parameter '{endpoint}' does not contain tech/resource")
    if not resource:
        raise AriError(422, f"No resource provided in endpoint parameter '{endpoint}'")
    own = ch.name.split("/", 1)[0]
    if own.lower() != tech.lower():
        raise AriError(
            422, f"Endpoint technology '{tech}' does not match channel technology '{own}'"
        )
    world.leave_to_dialplan(ch, "redirect", endpoint=endpoint)
    return no_content()


async def channel_continue(request: Request) -> Response:
    world, params = world_of(request), await params_of(request)
    ch = world.control(request.path_params["cid"])
    fields = {k: params[k] for k in ("context", "extension", "priority", "label") if k in params}
    world.leave_to_dialplan(ch, "continue", **fields)
    return no_content()


async def channel_record(request: Request) -> Response:
    world, params = world_of(request), await params_of(request)
    for key in ("maxDurationSeconds", "maxSilenceSeconds"):
        if as_int(params, key, 0) < 0:
            snake = "max_duration_seconds" if key.startswith("maxD") else "max_silence_seconds"
            raise AriError(400, f"{snake} cannot be negative")
    ch = world.control(request.path_params["cid"], media=False)
    rec = world.record(f"channel:{ch.id}", [ch], params)
    return JSONResponse(
        rec.json(), status_code=201, headers={"Location": f"/recordings/live/{rec.name}"}
    )


async def channel_variable(request: Request) -> Response:
    world, params = world_of(request), await params_of(request)
    name = str(params.get("variable") or "")
    if not name:
        raise AriError(400, "Variable name is required")
    if request.method == "GET":
        ch = world.channels.get(request.path_params["cid"])
        if ch is None:
            raise AriError(404, "Provided channel was not found")
        if name not in ch.variables:
            raise AriError(404, "Provided variable was not found")
        return JSONResponse({"value": ch.variables[name]})
    ch = world.control(request.path_params["cid"], media=False)
    value = str(params.get("value") or "")
    ch.variables[name] = value
    world.chan_event("ChannelVarset", ch, variable=name, value=value)
    return no_content()


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


CH = "/ari/channels/{cid}"
BR = "/ari/bridges/{bid}"
ROUTES = [
    Route("/ari/asterisk/info", asterisk_info),
    Route("/ari/asterisk/ping", asterisk_ping),
    Route("/ari/channels", channels_list),
    Route("/ari/channels", originate, methods=["POST"]),
    Route("/ari/channels/create", channel_create, methods=["POST"]),
    Route(CH, channel_get),
    Route(CH, originate, methods=["POST"]),
    Route(CH, channel_hangup, methods=["DELETE"]),
    Route(CH + "/answer", channel_answer, methods=["POST"]),
    Route(CH + "/ring", channel_ring, methods=["POST", "DELETE"]),
    Route(CH + "/play", channel_play, methods=["POST"]),
    Route(CH + "/play/{pid}", channel_play, methods=["POST"]),
    Route(CH + "/moh", channel_moh, methods=["POST", "DELETE"]),
    Route(CH + "/hold", channel_hold, methods=["POST", "DELETE"]),
    Route(CH + "/dtmf", channel_dtmf, methods=["POST"]),
    Route(CH + "/redirect", channel_redirect, methods=["POST"]),
    Route(CH + "/continue", channel_continue, methods=["POST"]),
    Route(CH + "/record", channel_record, methods=["POST"]),
    Route(CH + "/variable", channel_variable, methods=["GET", "POST"]),
    Route(CH + "/dial", channel_dial, methods=["POST"]),
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
