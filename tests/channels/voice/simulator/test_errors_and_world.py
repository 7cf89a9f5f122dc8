"""ARI's errors, authentication, the outage switch, the log and the traffic generator."""

from __future__ import annotations

import asyncio

import httpx
import pytest
import websockets

from omniline.channels.voice.simulator import RunningSimulator
from omniline.channels.voice.simulator.traffic import plan_traffic
from tests.channels.voice.simulator.conftest import Ari


async def test_errors_are_those_of_ari(ari: Ari) -> None:
    http = ari.http
    missing = await http.post("/ari/channels/nope/answer")
    assert (missing.status_code, missing.json()) == (404, {"message": "Channel not found"})

    await http.post("/_sim/phones", json={"endpoint": "PJSIP/1001", "answer_after_s": None})
    ringing = (
        await http.post("/ari/channels", params={"endpoint": "PJSIP/1001", "app": "omniline"})
    ).json()
    outside = await http.post(f"/ari/channels/{ringing['id']}/play", params={"media": "sound:x"})
    assert (outside.status_code, outside.json()) == (
        409,
        {"message": "Channel not in Stasis application"},
    )

    no_endpoint = await http.post("/ari/channels", params={"app": "omniline"})
    assert (no_endpoint.status_code, no_endpoint.json()) == (
        400,
        {"message": "Endpoint must be specified"},
    )
    no_app = await http.post("/ari/channels", params={"endpoint": "PJSIP/1001"})
    assert no_app.json() == {"message": "Application or extension must be specified"}
    bad_reason = await http.delete(f"/ari/channels/{ringing['id']}", params={"reason": "x"})
    assert bad_reason.status_code == 400

    cid = await ari.call()
    no_media = await http.post(f"/ari/channels/{cid}/play")
    assert no_media.status_code == 400
    no_dtmf = await http.post(f"/ari/channels/{cid}/dtmf")
    assert (no_dtmf.status_code, no_dtmf.json()) == (400, {"message": "DTMF is required"})
    assert (await http.get("/ari/bridges/nope")).json() == {"message": "Bridge not found"}
    bridge = (await http.post("/ari/bridges")).json()
    stray = await http.post(f"/ari/bridges/{bridge['id']}/addChannel", params={"channel": "nope"})
    assert (stray.status_code, stray.json()) == (400, {"message": "Channel not found"})
    assert (await http.get("/ari/playbacks/nope")).status_code == 404


async def test_authentication(sim: RunningSimulator) -> None:
    async with httpx.AsyncClient(base_url=sim.base_url) as http:
        assert (await http.get("/ari/channels")).status_code == 401
        assert (await http.get("/ari/channels", auth=("omniline", "wrong"))).status_code == 401
        assert (await http.get("/_sim/state")).status_code == 401
        key = {"api_key": f"{sim.user}:{sim.password}"}
        pong = (await http.get("/ari/asterisk/ping", params=key)).json()
        assert pong["ping"] == "pong" and pong["asterisk_id"] == sim.world.options.asterisk_id
    with pytest.raises(websockets.InvalidStatus) as refused:
        async with websockets.connect(f"{sim.events_url}?app=omniline"):
            pass
    assert refused.value.response.status_code == 401


async def test_outage_closes_the_socket_and_loses_the_channels(ari: Ari) -> None:
    await ari.call()
    await ari.http.post("/_sim/outage", json={"down": True})
    with pytest.raises(websockets.ConnectionClosed):
        await asyncio.wait_for(ari.ws.recv(), 2)
    down = await ari.http.get("/ari/channels")
    assert down.status_code == 503
    await ari.http.post("/_sim/outage", json={"down": False})
    assert (await ari.http.get("/ari/channels")).json() == []
    refused = await ari.http.post("/_sim/calls", json={"caller": "1", "dialled": "2"})
    assert refused.status_code == 409  # nobody is registered for the app again yet


async def test_the_log_numbers_what_was_sent(ari: Ari) -> None:
    cid = await ari.call()
    await ari.http.delete(f"/ari/channels/{cid}")
    await ari.take(3)
    log = (await ari.http.get("/_sim/log")).json()
    assert [e["event"]["type"] for e in log["events"]] == [
        "StasisStart",
        "ChannelHangupRequest",
        "StasisEnd",
        "ChannelDestroyed",
    ]
    since = log["events"][1]["seq"]
    later = (await ari.http.get("/_sim/log", params={"since": since})).json()
    assert len(later["events"]) == 2 and later["last"] == log["last"]


async def test_traffic_is_seeded_and_about_rate_times_duration(ari: Ari) -> None:
    spec = {"rate_per_s": 5, "duration_s": 4, "seed": 7, "patience_s_mean": 5, "digits": ["1"]}
    planned = len(plan_traffic(spec).arrivals)
    assert planned == len(plan_traffic(spec).arrivals)
    assert 8 <= planned <= 35

    response = await ari.http.post("/_sim/traffic", json=spec)
    assert response.json() == {"planned": planned}
    for _ in range(100):
        status = (await ari.http.get("/_sim/traffic")).json()
        if status["started"] == planned:
            break
        await asyncio.sleep(0.05)
    assert status == {"planned": planned, "started": planned, "refused": 0}
    starts = [
        e
        for e in (await ari.http.get("/_sim/log")).json()["events"]
        if e["event"]["type"] == "StasisStart"
    ]
    assert len(starts) == planned


async def test_recording_a_channel(ari: Ari) -> None:
    # The caller presses # two seconds in: time for the requests below on a loaded machine.
    cid = await ari.call(script=[{"sleep": 2.0}, {"press": "#"}])
    await ari.http.post(f"/ari/channels/{cid}/answer")
    made = await ari.http.post(
        f"/ari/channels/{cid}/record",
        params={"name": "vm-1", "format": "wav", "terminateOn": "#"},
    )
    assert made.status_code == 201 and made.json()["state"] == "queued"
    started = await ari.until("RecordingStarted")
    assert started["recording"]["target_uri"] == f"channel:{cid}"
    finished = await ari.until("RecordingFinished")
    assert finished["recording"]["state"] == "done"
    stored = await ari.http.get("/ari/recordings/stored/vm-1")
    assert stored.json() == {"name": "vm-1", "format": "wav"}
    audio = await ari.http.get("/ari/recordings/stored/vm-1/file")
    assert audio.content[:4] == b"RIFF"
    assert (await ari.http.delete("/ari/recordings/stored/vm-1")).status_code == 204
