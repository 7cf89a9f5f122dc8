"""A customer calls in: StasisStart, answer, playbacks, DTMF, music on hold, hangups."""

from __future__ import annotations

import re
from datetime import datetime

from tests.channels.voice.simulator.conftest import SPEED, Ari, types


def seconds(event: dict) -> float:
    return datetime.strptime(event["timestamp"], "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()


TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$")


async def test_stasis_start_has_the_shape_of_ari(ari: Ari) -> None:
    response = await ari.http.post(
        "/_sim/calls",
        json={"caller": "+380501234567", "dialled": "+380443334455", "caller_name": "Olena"},
    )
    event = await ari.next()

    assert event["type"] == "StasisStart"
    assert event["application"] == "omniline"
    assert event["asterisk_id"] == ari.sim.world.options.asterisk_id
    assert TIMESTAMP.match(event["timestamp"])
    assert event["args"] == ["inbound", "+380443334455"]
    assert "replace_channel" not in event
    channel = event["channel"]
    assert channel["id"] == response.json()["id"]
    assert re.match(r"^PJSIP/trunk-[0-9a-f]{8}$", channel["name"])
    assert channel["state"] == "Ring"
    assert channel["caller"] == {"name": "Olena", "number": "+380501234567"}
    assert channel["connected"] == {"name": "", "number": ""}
    assert channel["accountcode"] == ""
    assert channel["dialplan"] == {
        "context": "from-trunk",
        "exten": "+380443334455",
        "priority": 1,
        "app_name": "Stasis",
        "app_data": "omniline,inbound,+380443334455",
    }
    assert TIMESTAMP.match(channel["creationtime"])
    assert channel["language"] == "en"
    assert (await ari.http.get(f"/ari/channels/{channel['id']}")).json()["state"] == "Ring"


async def test_answer_play_and_dtmf_from_the_script(ari: Ari) -> None:
    cid = await ari.call(script=[{"wait_playbacks": 1}, {"press": "12"}])

    assert (await ari.http.post(f"/ari/channels/{cid}/answer")).status_code == 204
    changed = await ari.next()
    assert changed["type"] == "ChannelStateChange"
    assert changed["channel"]["state"] == "Up"

    played = await ari.http.post(
        f"/ari/channels/{cid}/play", params={"media": "digits:12345", "lang": "uk"}
    )
    assert played.status_code == 201
    playback = played.json()
    assert playback["state"] == "queued"
    assert playback["target_uri"] == f"channel:{cid}"
    assert played.headers["location"] == f"/playbacks/{playback['id']}"

    started, finished, first, second = await ari.take(4)
    assert types([started, finished, first, second]) == [
        "PlaybackStarted",
        "PlaybackFinished",
        "ChannelDtmfReceived",
        "ChannelDtmfReceived",
    ]
    assert started["playback"] == {**playback, "state": "playing", "language": "uk"}
    assert finished["playback"]["state"] == "done"
    # five digits at 0.4 s each, run SPEED times faster
    assert seconds(finished) - seconds(started) >= 2.0 / SPEED - 0.002
    assert (first["digit"], second["digit"]) == ("1", "2")
    assert first["duration_ms"] == 100
    assert first["channel"]["id"] == cid

    log = ari.sim.world.channels[cid].log
    assert {"uri": "digits:12345", "lang": "uk"}.items() <= next(
        e for e in log if e["what"] == "play"
    ).items()


async def test_a_list_of_media_plays_in_turn(ari: Ari) -> None:
    cid = await ari.call()
    await ari.http.post(f"/ari/channels/{cid}/answer")
    await ari.until("ChannelStateChange")
    await ari.http.post(
        f"/ari/channels/{cid}/play", params=[("media", "sound:a"), ("media", "number:42")]
    )
    events = await ari.take(4)
    assert types(events) == [
        "PlaybackStarted",
        "PlaybackContinuing",
        "PlaybackStarted",
        "PlaybackFinished",
    ]
    assert events[0]["playback"]["next_media_uri"] == "number:42"
    assert events[2]["playback"]["media_uri"] == "number:42"


async def test_api_hangup_sends_request_stasis_end_destroyed(ari: Ari) -> None:
    cid = await ari.call()
    assert (await ari.http.delete(f"/ari/channels/{cid}")).status_code == 204

    request, end, destroyed = await ari.take(3)
    assert types([request, end, destroyed]) == [
        "ChannelHangupRequest",
        "StasisEnd",
        "ChannelDestroyed",
    ]
    assert (request["cause"], request["soft"]) == (32, True)
    assert (destroyed["cause"], destroyed["cause_txt"]) == (16, "Normal Clearing")
    assert (await ari.http.get(f"/ari/channels/{cid}")).json() == {"message": "Channel not found"}


async def test_hangup_during_a_playback_fails_it_first(ari: Ari) -> None:
    # The caller hangs up two seconds in: time for the requests below on a loaded machine.
    ari.sim.world.options.sounds["long"] = 30.0
    cid = await ari.call(script=[{"sleep": 2.0}, {"hangup": True}])
    await ari.http.post(f"/ari/channels/{cid}/answer")
    await ari.http.post(f"/ari/channels/{cid}/play", params={"media": "sound:long"})

    events = [await ari.next() for _ in range(6)]
    assert types(events) == [
        "ChannelStateChange",
        "PlaybackStarted",
        "ChannelHangupRequest",
        "PlaybackFinished",
        "StasisEnd",
        "ChannelDestroyed",
    ]
    assert events[2]["cause"] == 16 and "soft" not in events[2]
    assert events[3]["playback"]["state"] == "failed"


async def test_music_on_hold_hold_and_patience(ari: Ari) -> None:
    cid = await ari.call(patience_s=1.0)
    await ari.http.post(f"/ari/channels/{cid}/answer")
    await ari.http.post(f"/ari/channels/{cid}/hold")
    await ari.http.delete(f"/ari/channels/{cid}/hold")
    assert (
        await ari.http.post(f"/ari/channels/{cid}/moh", params={"mohClass": "q"})
    ).status_code == 204

    events = [await ari.next() for _ in range(6)]
    assert types(events) == [
        "ChannelStateChange",
        "ChannelHold",
        "ChannelUnhold",
        "ChannelHangupRequest",
        "StasisEnd",
        "ChannelDestroyed",
    ]
    state = (await ari.http.get("/_sim/state")).json()
    log = state["history"][0]["log"]
    assert any(e["what"] == "moh" and e["on"] and e["class"] == "q" for e in log)
    assert log[-1]["by"] == "patience"
