"""Omniline dials out: agents' phones, external numbers, bridges, dial failures."""

from __future__ import annotations

from typing import Any

from tests.channels.voice.simulator.conftest import Ari, types


async def originate(ari: Ari, endpoint: str, **params: Any) -> dict[str, Any]:
    params.setdefault("app", "omniline")
    response = await ari.http.post("/ari/channels", params={"endpoint": endpoint, **params})
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_originate_to_a_phone_that_answers(ari: Ari) -> None:
    await ari.http.post("/_sim/phones", json={"endpoint": "PJSIP/1001", "answer_after_s": 0.5})
    channel = await originate(ari, "PJSIP/1001", appArgs="agent,42", callerId='"Queue" <100>')
    assert channel["state"] == "Down"
    assert channel["name"].startswith("PJSIP/1001-")

    events = await ari.take(6)
    assert types(events) == [
        "Dial",
        "ChannelStateChange",
        "Dial",
        "ChannelStateChange",
        "Dial",
        "StasisStart",
    ]
    assert [e["dialstatus"] for e in events if e["type"] == "Dial"] == ["", "RINGING", "ANSWER"]
    assert events[0]["peer"]["id"] == channel["id"]
    assert (events[0]["dialstring"], events[0]["forward"]) == ("1001", "")
    assert "caller" not in events[0]
    assert [e["channel"]["state"] for e in events if e["type"] == "ChannelStateChange"] == [
        "Ringing",
        "Up",
    ]
    assert events[5]["args"] == ["agent", "42"]
    assert events[5]["channel"]["state"] == "Up"
    assert events[5]["channel"]["caller"] == {"name": "Queue", "number": "100"}


async def test_bridge_and_the_caller_hangs_up(ari: Ari) -> None:
    await ari.http.post("/_sim/phones", json={"endpoint": "PJSIP/1001", "answer_after_s": 0.1})
    caller = await ari.call()
    agent = (await originate(ari, "PJSIP/1001"))["id"]
    await ari.until("StasisStart")
    bridge = (await ari.http.post("/ari/bridges", params={"type": "mixing"})).json()
    assert bridge["bridge_type"] == "mixing" and bridge["channels"] == []
    added = await ari.http.post(
        f"/ari/bridges/{bridge['id']}/addChannel", params={"channel": f"{caller},{agent}"}
    )
    assert added.status_code == 204

    entered = [await ari.until("ChannelEnteredBridge") for _ in range(2)]
    assert [e["channel"]["id"] for e in entered] == [caller, agent]
    assert entered[1]["bridge"]["channels"] == [caller, agent]

    assert (await ari.http.post(f"/_sim/calls/{caller}/hangup")).status_code == 204

    events = await ari.take(4)
    assert types(events) == [
        "ChannelHangupRequest",
        "ChannelLeftBridge",
        "StasisEnd",
        "ChannelDestroyed",
    ]
    assert all(e["channel"]["id"] == caller for e in events)
    assert events[0]["cause"] == 16 and "soft" not in events[0]
    assert events[3]["cause"] == 16
    # the agent stays in the bridge: the app decides
    assert (await ari.http.get(f"/ari/bridges/{bridge['id']}")).json()["channels"] == [agent]
    log = ari.sim.world.channels[agent].log
    assert any(e["what"] == "bridged_with" and e["channels"] == [caller] for e in log)


async def test_a_busy_number(ari: Ari) -> None:
    await ari.http.post("/_sim/numbers", json={"number": "+380671112233", "busy": True})
    await originate(ari, "PJSIP/+380671112233@trunk")
    dial, busy, destroyed = await ari.take(3)
    assert (dial["dialstatus"], busy["dialstatus"]) == ("", "BUSY")
    assert destroyed["type"] == "ChannelDestroyed"
    assert (destroyed["cause"], destroyed["cause_txt"]) == (17, "User busy")


async def test_ring_timeout(ari: Ari) -> None:
    await ari.http.post("/_sim/phones", json={"endpoint": "PJSIP/1002", "answer_after_s": None})
    await originate(ari, "PJSIP/1002", timeout=1)
    events = await ari.take(5)
    assert types(events) == ["Dial", "ChannelStateChange", "Dial", "Dial", "ChannelDestroyed"]
    assert events[3]["dialstatus"] == "NOANSWER"
    assert events[4]["cause"] == 19


async def test_a_phone_answered_by_hand_and_a_rejecting_one(ari: Ari) -> None:
    await ari.http.post("/_sim/phones", json={"endpoint": "PJSIP/1003", "answer_after_s": None})
    await ari.http.post("/_sim/phones", json={"endpoint": "PJSIP/1004", "reject": True})
    await originate(ari, "PJSIP/1003")
    await ari.take(3)  # Dial, Ringing, Dial RINGING
    assert (await ari.http.post("/_sim/phones/PJSIP/1003/answer")).status_code == 204
    assert types(await ari.take(3)) == ["ChannelStateChange", "Dial", "StasisStart"]

    await originate(ari, "PJSIP/1004")
    events = await ari.take(5)
    assert events[3]["dialstatus"] == "BUSY"
    assert events[4]["cause"] == 21


async def test_an_unregistered_phone_fails_like_chan_pjsip(ari: Ari) -> None:
    await ari.http.post("/_sim/phones", json={"endpoint": "PJSIP/1005"})
    await ari.http.delete("/_sim/phones/PJSIP/1005")
    response = await ari.http.post(
        "/ari/channels", params={"endpoint": "PJSIP/1005", "app": "omniline"}
    )
    assert (response.status_code, response.json()) == (500, {"message": "Allocation failed"})


async def test_an_external_number_runs_its_script(ari: Ari) -> None:
    await ari.http.post(
        "/_sim/numbers",
        json={"number": "+380509990000", "answer_after_s": 0.2, "script": [{"press": "1"}]},
    )
    channel = await originate(ari, "Local/+380509990000@from-internal", appArgs="reminder")
    assert channel["name"].startswith("Local/+380509990000@from-internal-")
    start = await ari.until("StasisStart")
    assert start["args"] == ["reminder"]
    dtmf = await ari.next()
    assert (dtmf["type"], dtmf["digit"]) == ("ChannelDtmfReceived", "1")


async def test_create_then_dial(ari: Ari) -> None:
    await ari.http.post("/_sim/phones", json={"endpoint": "PJSIP/1006", "answer_after_s": 0.1})
    caller = await ari.call()
    created = await ari.http.post(
        "/ari/channels/create", params={"endpoint": "PJSIP/1006", "app": "omniline"}
    )
    assert created.status_code == 200
    cid = created.json()["id"]
    start = await ari.next()
    assert (start["type"], start["channel"]["state"]) == ("StasisStart", "Down")
    dialled = await ari.http.post(f"/ari/channels/{cid}/dial", params={"caller": caller})
    assert dialled.status_code == 204
    events = await ari.take(5)
    assert [e.get("dialstatus") for e in events] == ["", None, "RINGING", None, "ANSWER"]
    assert events[0]["caller"]["id"] == caller


async def test_redirect_leaves_the_app_and_a_deleted_bridge_empties(ari: Ari) -> None:
    first, second = await ari.call(), await ari.call(caller="+380509876543")
    bridge = (await ari.http.post("/ari/bridges/b1", params={"type": "mixing"})).json()
    assert bridge["id"] == "b1"
    await ari.http.post("/ari/bridges/b1/addChannel", params={"channel": f"{first},{second}"})
    await ari.http.post(f"/ari/channels/{first}/answer")  # already up: nothing sent
    await ari.http.post(f"/ari/channels/{first}/redirect", params={"endpoint": "PJSIP/+3805@trunk"})
    assert (await ari.http.delete("/ari/bridges/b1")).status_code == 204

    events = await ari.take(8)
    assert types(events) == [
        "ChannelStateChange",
        "ChannelEnteredBridge",
        "ChannelStateChange",
        "ChannelEnteredBridge",
        "ChannelLeftBridge",
        "StasisEnd",
        "ChannelLeftBridge",
        "BridgeDestroyed",
    ]
    assert events[5]["channel"]["id"] == first
    assert events[6]["channel"]["id"] == second
    assert first not in ari.sim.world.channels
    wrong = await ari.http.post(f"/ari/channels/{second}/redirect", params={"endpoint": "SIP/x"})
    assert wrong.status_code == 422
