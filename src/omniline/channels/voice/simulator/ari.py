"""ARI's REST resources and events socket, the subset Omniline uses (base path /ari)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from omniline.channels.voice.simulator import events as ev
from omniline.channels.voice.simulator.params import (
    as_int,
    no_content,
    params_of,
    split,
    world_of,
)
from omniline.channels.voice.simulator.world import AriError

# asterisk ---------------------------------------------------------------------------------


async def asterisk_info(request: Request) -> Response:
    world = world_of(request)
    started = ev.timestamp()
    return JSONResponse(
        {
            "build": {
                "os": "Linux",
                "kernel": "",
                "machine": "x86_64",
                "options": "",
                "date": "",
                "user": "omniline",
            },
            "system": {
                "version": "20.0.0-omniline-simulator",
                "entity_id": world.options.asterisk_id,
            },
            "config": {
                "name": "omniline-simulator",
                "default_language": world.options.language,
                "setid": {"user": "asterisk", "group": "asterisk"},
            },
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


CH = "/ari/channels/{cid}"
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
]
