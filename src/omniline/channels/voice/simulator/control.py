"""The world control API (/_sim): phones, callers, numbers, traffic, outage, state and log."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from omniline.channels.voice.simulator.calls import Number, Phone
from omniline.channels.voice.simulator.params import params_of, world_of
from omniline.channels.voice.simulator.world import AriError, Channel


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)


async def phone_add(request: Request) -> Response:
    world, body = world_of(request), await params_of(request)
    endpoint = str(body.get("endpoint") or "")
    if "/" not in endpoint:
        raise AriError(400, "endpoint like PJSIP/1001 is required")
    phone = Phone(
        endpoint,
        answer_after_s=_opt_float(body.get("answer_after_s", 1.0)),
        talk_s=_opt_float(body.get("talk_s")),
        reject=bool(body.get("reject", False)),
    )
    world.phones[endpoint] = phone
    return JSONResponse(asdict(phone), status_code=201)


async def phone_remove(request: Request) -> Response:
    world = world_of(request)
    if world.phones.pop(request.path_params["endpoint"], None) is None:
        raise AriError(404, "Phone not found")
    return Response(status_code=204)


def _phone_channel(request: Request, *, ringing: bool) -> Channel:
    world, endpoint = world_of(request), request.path_params["endpoint"]
    for ch in reversed(world.phone_channels(endpoint)):
        if ch.dialing == ringing:
            return ch
    raise AriError(409, f"{endpoint} has no {'ringing' if ringing else 'answered'} call")


async def phone_action(request: Request) -> Response:
    world, action = world_of(request), request.path_params["action"]
    if action == "answer":
        world.far_answer(_phone_channel(request, ringing=True))
    elif action == "reject":
        ch = _phone_channel(request, ringing=True)
        world.fail_dial(ch, "BUSY", 21)
    elif action == "hangup":
        world.remote_hangup(_phone_channel(request, ringing=False), "phone")
    elif action == "press":
        body = await params_of(request)
        ch = _phone_channel(request, ringing=False)
        world.spawn(ch, world.press(ch, str(body.get("digits") or "")))
    else:
        raise AriError(404, "Unknown phone action")
    return Response(status_code=204)


async def call_add(request: Request) -> Response:
    world, body = world_of(request), await params_of(request)
    ch = world.inbound(body)
    return JSONResponse({"id": ch.id, "name": ch.name}, status_code=201)


async def call_action(request: Request) -> Response:
    world, action = world_of(request), request.path_params["action"]
    ch = world.get_channel(request.path_params["cid"])
    if action == "hangup":
        world.remote_hangup(ch, "caller")
    elif action == "press":
        body = await params_of(request)
        world.spawn(ch, world.press(ch, str(body.get("digits") or "")))
    else:
        raise AriError(404, "Unknown call action")
    return Response(status_code=204)


async def number_add(request: Request) -> Response:
    world, body = world_of(request), await params_of(request)
    number = str(body.get("number") or "")
    if not number:
        raise AriError(400, "number is required")
    plan = Number(
        number,
        answer_after_s=_opt_float(body.get("answer_after_s", 1.0)),
        script=list(body.get("script") or []),
        talk_s=_opt_float(body.get("talk_s")),
        busy=bool(body.get("busy", False)),
    )
    world.numbers[number] = plan
    return JSONResponse(asdict(plan), status_code=201)


async def traffic(request: Request) -> Response:
    world = world_of(request)
    if request.method == "DELETE":
        world.stop_traffic()
        return Response(status_code=204)
    if request.method == "GET":
        plan = world.traffic
        if plan is None:
            return JSONResponse({"planned": 0, "started": 0, "refused": 0})
        return JSONResponse(
            {"planned": len(plan.arrivals), "started": plan.started, "refused": plan.refused}
        )
    plan = world.start_traffic(await params_of(request))
    return JSONResponse({"planned": len(plan.arrivals)}, status_code=201)


async def state(request: Request) -> Response:
    return JSONResponse(world_of(request).state())


async def log(request: Request) -> Response:
    world = world_of(request)
    try:
        since = int(request.query_params.get("since") or 0)
    except ValueError as exc:
        raise AriError(400, "since must be an integer") from exc
    entries = [e for e in world.log if e["seq"] > since]
    last = world.log[-1]["seq"] if world.log else since
    return JSONResponse({"events": entries, "last": last})


async def outage(request: Request) -> Response:
    world, body = world_of(request), await params_of(request)
    world.set_down(bool(body.get("down", True)))
    return JSONResponse({"down": world.down})


async def reset(request: Request) -> Response:
    world_of(request).reset()
    return Response(status_code=204)


ROUTES = [
    Route("/_sim/phones", phone_add, methods=["POST"]),
    Route("/_sim/phones/{endpoint:path}/{action}", phone_action, methods=["POST"]),
    Route("/_sim/phones/{endpoint:path}", phone_remove, methods=["DELETE"]),
    Route("/_sim/calls", call_add, methods=["POST"]),
    Route("/_sim/calls/{cid}/{action}", call_action, methods=["POST"]),
    Route("/_sim/numbers", number_add, methods=["POST"]),
    Route("/_sim/traffic", traffic, methods=["GET", "POST", "DELETE"]),
    Route("/_sim/state", state),
    Route("/_sim/log", log),
    Route("/_sim/outage", outage, methods=["POST"]),
    Route("/_sim/reset", reset, methods=["POST"]),
]
