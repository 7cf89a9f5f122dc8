"""What a channel hears and says: playbacks, recordings, DTMF, music on hold, hold, ringing."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from omniline.channels.voice.simulator import events as ev
from omniline.channels.voice.simulator.world import AriError, Bridge, Channel, Core

MEDIA_SCHEMES = ("sound:", "digits:", "number:", "tone:", "recording:", "characters:")
RECORDING_FORMATS = ("wav", "gsm", "ulaw", "alaw", "sln", "g722", "wav49", "g729", "opus")


@dataclass
class Playback:
    id: str
    media: list[str]
    target: str
    channel_id: str
    language: str
    offset_s: float = 0.0
    state: str = "queued"
    index: int = 0

    def json(self) -> dict[str, Any]:
        nxt = self.media[self.index + 1] if self.index + 1 < len(self.media) else None
        return ev.playback(
            self.id, self.media[self.index], self.target, self.language, self.state, nxt
        )


@dataclass
class Recording:
    name: str
    format: str
    target: str
    state: str = "queued"
    started: float = 0.0
    duration: int | None = None
    max_duration_s: float = 0.0
    terminate_on: str = "none"
    channel_ids: list[str] = field(default_factory=list)

    def json(self) -> dict[str, Any]:
        return ev.live_recording(self.name, self.format, self.target, self.state, self.duration)


class Media(Core):
    def __init__(self, *a: Any, **kw: Any) -> None:
        super().__init__(*a, **kw)
        self.playbacks: dict[str, Playback] = {}
        self.queues: dict[str, list[Playback]] = {}  # channel id -> queued and playing
        self.live: dict[str, Recording] = {}
        self.stored: dict[str, Recording] = {}
        self.players: dict[str, asyncio.Task[Any]] = {}  # channel id -> its playing queue

    # playback -----------------------------------------------------------------------------

    def media_seconds(self, uri: str) -> float:
        scheme, _, rest = uri.partition(":")
        if scheme in ("digits", "number", "characters"):
            return 0.4 * max(len(rest), 1)
        if scheme == "sound" and rest.startswith(("http://", "https://")):
            return 1.0
        if scheme == "sound":
            return self.options.sounds.get(rest, self.options.sound_s)
        if scheme == "recording":
            stored = self.stored.get(rest)
            return float(stored.duration or 1) if stored else -1.0  # unknown: the playback fails
        return 1.0  # tone:

    def play(
        self, ch: Channel, media: list[str], lang: str | None, pid: str | None, offset_ms: int
    ) -> Playback:
        if not media or not all(m.strip() for m in media):
            raise AriError(400, "media is required")
        if offset_ms < 0:
            raise AriError(400, "offsetms cannot be negative")
        pid = pid or str(uuid.uuid4())
        if pid in self.playbacks:
            raise AriError(409, "Playback with given id already exists")
        pb = Playback(pid, media, f"channel:{ch.id}", ch.id, lang or ch.language)
        pb.offset_s = offset_ms / 1000
        self.playbacks[pid] = pb
        queue = self.queues.setdefault(ch.id, [])
        queue.append(pb)
        if ch.moh:  # /play suspends music on hold, and Asterisk does not resume it
            ch.moh = None
            self.note(ch, "moh", on=False)
        if len(queue) == 1:
            self.players[ch.id] = self.spawn(ch, self._run_queue(ch))
        return pb

    async def _run_queue(self, ch: Channel) -> None:
        queue = self.queues.get(ch.id, [])
        while queue and not ch.gone:
            pb = queue[0]
            await self._play_one(ch, pb)
            if queue and queue[0] is pb:
                queue.pop(0)
        if self.players.get(ch.id) is asyncio.current_task():
            self.players.pop(ch.id)

    async def _play_one(self, ch: Channel, pb: Playback) -> None:
        apps = ch.apps
        for i, uri in enumerate(pb.media):
            pb.index, pb.state = i, "playing"
            self.note(ch, "play", uri=uri, lang=pb.language, playback=pb.id)
            self.emit("PlaybackStarted", apps, playback=pb.json())
            length = self.media_seconds(uri)
            known = uri.startswith(MEDIA_SCHEMES) and length >= 0
            await self.sleep(length - (pb.offset_s if i == 0 else 0) if known else 0)
            if pb.state != "playing":
                return  # stopped meanwhile: the stopper sent PlaybackFinished
            if not known:
                self._finish(ch, pb, "failed")
                return
            if i + 1 < len(pb.media):
                pb.state = "continuing"
                self.emit("PlaybackContinuing", apps, playback=pb.json())
        self._finish(ch, pb, "done")

    def _finish(self, ch: Channel | None, pb: Playback, state: str) -> None:
        pb.state = state
        self.playbacks.pop(pb.id, None)
        apps = ch.apps if ch else set()
        self.emit("PlaybackFinished", apps, playback=pb.json())
        if ch is not None:
            ch.finished_playbacks += 1
            ch.changed.set()

    def stop_playback(self, pid: str) -> None:
        pb = self.get_playback(pid)
        ch = self.channels.get(pb.channel_id)
        queue = self.queues.get(pb.channel_id, [])
        was_playing = pb.state in ("playing", "continuing")
        if pb in queue:
            queue.remove(pb)
        self._finish(ch, pb, "done")
        if was_playing and ch is not None:
            player = self.players.pop(ch.id, None)
            if player is not None:
                player.cancel()
            if queue:
                self.players[ch.id] = self.spawn(ch, self._run_queue(ch))

    def get_playback(self, pid: str) -> Playback:
        pb = self.playbacks.get(pid)
        if pb is None:
            raise AriError(404, "Playback not found")
        return pb

    def _stop_media(self, ch: Channel) -> None:
        self.players.pop(ch.id, None)  # discard() cancels it with the channel's other tasks
        queue = self.queues.pop(ch.id, [])
        for pb in queue:
            if pb.state in ("playing", "continuing"):
                self._finish(ch, pb, "failed")  # the hangup interrupts it
            else:
                self.playbacks.pop(pb.id, None)
        for rec in list(self.live.values()):
            if ch.id in rec.channel_ids and rec.target == f"channel:{ch.id}":
                self.stop_recording(rec, apps=ch.apps)

    # dtmf, moh, hold, ring ----------------------------------------------------------------

    def dtmf_in(self, ch: Channel, digit: str) -> None:
        """A digit the far end pressed: ChannelDtmfReceived, and a recording may stop on it."""
        self.note(ch, "dtmf", digit=digit, dir="in")
        self.chan_event("ChannelDtmfReceived", ch, digit=digit, duration_ms=100)
        for rec in list(self.live.values()):
            if ch.id in rec.channel_ids and self._terminates(rec.terminate_on, digit):
                self.stop_recording(rec, apps=ch.apps)

    @staticmethod
    def _terminates(terminate_on: str, digit: str) -> bool:
        return terminate_on == "any" or terminate_on == digit

    def set_moh(self, ch: Channel, moh_class: str | None) -> None:
        ch.moh = moh_class
        self.note(
            ch, "moh", on=moh_class is not None, **({"class": moh_class} if moh_class else {})
        )
        if moh_class is not None:
            self.waiting_started(ch)

    def set_hold(self, ch: Channel, on: bool) -> None:
        ch.hold = on
        self.note(ch, "hold", on=on)
        self.chan_event("ChannelHold" if on else "ChannelUnhold", ch)

    def set_ringing(self, ch: Channel, on: bool) -> None:
        ch.ringing = on
        self.note(ch, "ring", on=on)
        if on:
            self.waiting_started(ch)

    def waiting_started(self, ch: Channel) -> None:  # calls.py: patience
        pass

    # recordings ---------------------------------------------------------------------------

    def record(self, target: str, channels: list[Channel], params: dict[str, Any]) -> Recording:
        name, fmt = params.get("name") or "", params.get("format") or ""
        if not name or ".." in name or name.startswith("/"):
            raise AriError(400, "Recording name invalid")
        max_s = int(params.get("maxDurationSeconds") or 0)
        if max_s < 0:
            raise AriError(400, "max_duration_seconds cannot be negative")
        if int(params.get("maxSilenceSeconds") or 0) < 0:
            raise AriError(400, "max_silence_seconds cannot be negative")
        terminate_on = params.get("terminateOn") or "none"
        if terminate_on not in ("none", "any", "*", "#"):
            raise AriError(400, "terminateOn invalid")
        if_exists = params.get("ifExists") or "fail"
        if if_exists not in ("fail", "overwrite", "append"):
            raise AriError(400, "ifExists invalid")
        if fmt not in RECORDING_FORMATS:
            raise AriError(422, "specified format is unknown on this system")
        if name in self.live or (name in self.stored and if_exists == "fail"):
            raise AriError(409, f"Recording '{name}' already exists and can not be overwritten")
        rec = Recording(name, fmt, target, max_duration_s=max_s, terminate_on=terminate_on)
        rec.channel_ids = [c.id for c in channels]
        self.live[name] = rec
        apps: set[str] = set().union(*(c.apps for c in channels)) if channels else set()
        asyncio.get_running_loop().call_soon(self._start_recording, rec, apps)
        return rec

    def _start_recording(self, rec: Recording, apps: set[str]) -> None:
        if rec.state != "queued":
            return
        rec.state, rec.started = "recording", time.monotonic()
        for cid in rec.channel_ids:
            if cid in self.channels:
                self.note(self.channels[cid], "record", name=rec.name, on=True)
        self.emit("RecordingStarted", apps, recording=rec.json())
        if rec.max_duration_s:
            loop = asyncio.get_running_loop()
            loop.call_later(self.real(rec.max_duration_s), self._max_reached, rec, apps)

    def _max_reached(self, rec: Recording, apps: set[str]) -> None:
        if self.live.get(rec.name) is rec:
            self.stop_recording(rec, apps=apps)

    def stop_recording(self, rec: Recording, *, apps: set[str], state: str = "done") -> None:
        self.live.pop(rec.name, None)
        elapsed = (time.monotonic() - rec.started) * self.options.speed if rec.started else 0
        rec.duration, rec.state = round(elapsed), state
        for cid in rec.channel_ids:
            if cid in self.channels:
                self.note(self.channels[cid], "record", name=rec.name, on=False)
        kind = "RecordingFailed" if state == "failed" else "RecordingFinished"
        self.emit(kind, apps, recording=rec.json())
        if state == "done":
            self.stored[rec.name] = rec

    def destroy_bridge(self, bridge: Bridge) -> None:
        """A bridge's recording ends with the bridge, as Asterisk's does."""
        for rec in list(self.live.values()):
            if rec.target == f"bridge:{bridge.id}":
                self.stop_recording(rec, apps=set(bridge.apps) | self.recording_apps(rec))
        super().destroy_bridge(bridge)

    def recording_apps(self, rec: Recording) -> set[str]:
        apps: set[str] = set()
        for cid in rec.channel_ids:
            if cid in self.channels:
                apps |= self.channels[cid].apps
        return apps

    def bridge_moh(self, bridge: Bridge, moh_class: str | None) -> None:
        bridge.moh = moh_class
        for cid in bridge.channels:
            self.note(self.channels[cid], "bridge_moh", on=moh_class is not None)
