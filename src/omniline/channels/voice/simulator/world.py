"""The simulated PBX's state: channels, bridges, subscriptions and the event log.

Everything runs on one asyncio loop, so a change and the events it emits happen together
with no locks. Simulated durations are divided by ``speed`` to get real sleeps.
Media (playbacks, recordings) lives in ``media.py``, call set-up in ``calls.py``.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from omniline.channels.voice.simulator import events as ev


class AriError(Exception):
    """An ARI error response: ``{"message": ...}`` with an HTTP status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class SimOptions:
    app: str = "omniline"
    user: str = "omniline"
    password: str = "omniline"
    speed: float = 1.0  # 10 runs ten times faster than real time
    asterisk_id: str = "52:54:00:5a:11:01"
    trunk: str = "trunk"  # the PJSIP endpoint inbound calls arrive on
    sound_s: float = 1.0  # a sound: of unknown length
    sounds: dict[str, float] = field(default_factory=dict)  # per sound name, seconds
    number_answer_s: float | None = 1.0  # an external number nobody configured
    language: str = "en"
    log_limit: int = 100_000  # events kept for /_sim/log; older ones drop off
    history_limit: int = 10_000  # gone channels kept for /_sim/state


@dataclass
class Subscriber:
    apps: set[str]
    subscribe_all: bool
    queue: asyncio.Queue[dict[str, Any] | None] = field(default_factory=asyncio.Queue)


@dataclass
class Channel:
    id: str
    name: str
    state: str
    role: str  # inbound | phone | number
    endpoint: str
    caller: dict[str, str]
    connected: dict[str, str]
    dialplan: dict[str, Any]
    creationtime: str
    language: str = "en"
    apps: set[str] = field(default_factory=set)  # apps subscribed to its events
    stasis_app: str | None = None
    args: list[str] = field(default_factory=list)
    variables: dict[str, str] = field(default_factory=dict)
    bridge_id: str | None = None
    moh: str | None = None
    hold: bool = False
    ringing: bool = False
    dialing: bool = False  # originated or dialled and not yet answered
    gone: bool = False
    script: list[dict[str, Any]] = field(default_factory=list)
    patience_s: float | None = None
    talk_s: float | None = None
    finished_playbacks: int = 0
    was_bridged: bool = False
    log: list[dict[str, Any]] = field(default_factory=list)
    timers: dict[str, asyncio.TimerHandle] = field(default_factory=dict)
    tasks: set[asyncio.Task[Any]] = field(default_factory=set)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def json(self) -> dict[str, Any]:
        body = {
            "id": self.id,
            "name": self.name,
            "state": self.state,
            "protocol_id": "",
            "caller": dict(self.caller),
            "connected": dict(self.connected),
            "accountcode": "",
            "dialplan": dict(self.dialplan),
            "creationtime": self.creationtime,
            "language": self.language,
        }
        return body


@dataclass
class Bridge:
    id: str
    name: str
    bridge_type: str
    creationtime: str
    channels: list[str] = field(default_factory=list)
    apps: set[str] = field(default_factory=set)
    moh: str | None = None

    def json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "technology": "simple_bridge" if len(self.channels) <= 2 else "softmix",
            "bridge_type": self.bridge_type,
            "bridge_class": "stasis",
            "creator": "Stasis",
            "name": self.name,
            "channels": list(self.channels),
            "creationtime": self.creationtime,
            "video_mode": "talker",
        }


class Core:
    def __init__(self, options: SimOptions) -> None:
        self.options = options
        self.channels: dict[str, Channel] = {}
        self.bridges: dict[str, Bridge] = {}
        # channels that are gone (their logs) and the events sent, bounded for long demos
        self.history: deque[dict[str, Any]] = deque(maxlen=options.history_limit)
        self.subscribers: list[Subscriber] = []
        self.log: deque[dict[str, Any]] = deque(maxlen=options.log_limit)
        self.down = False
        self.started = time.monotonic()
        self.boot_id = int(time.time())
        self._ids = itertools.count(1)
        self._names = itertools.count(1)
        self._seq = itertools.count(1)
        self._loose: set[asyncio.Task[Any]] = set()

    # clock ------------------------------------------------------------------------------

    def now_s(self) -> float:
        """Simulated seconds since start."""
        return round((time.monotonic() - self.started) * self.options.speed, 3)

    def real(self, sim_s: float) -> float:
        return max(sim_s, 0.0) / self.options.speed

    async def sleep(self, sim_s: float) -> None:
        await asyncio.sleep(self.real(sim_s))

    def later(self, ch: Channel, key: str, sim_s: float, fn: Callable[[], None]) -> None:
        """Run fn after sim_s unless the channel goes first; one timer per key."""
        self.cancel(ch, key)

        def fire() -> None:
            ch.timers.pop(key, None)
            if not ch.gone:
                fn()

        ch.timers[key] = asyncio.get_running_loop().call_later(self.real(sim_s), fire)

    def cancel(self, ch: Channel, key: str) -> None:
        handle = ch.timers.pop(key, None)
        if handle:
            handle.cancel()

    def spawn(self, ch: Channel | None, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro)
        bucket = ch.tasks if ch else self._loose
        bucket.add(task)
        task.add_done_callback(bucket.discard)
        return task

    # ids --------------------------------------------------------------------------------

    def new_id(self) -> str:
        return f"{self.boot_id}.{next(self._ids)}"

    def new_name(self, prefix: str) -> str:
        return f"{prefix}-{next(self._names):08x}"

    # events -----------------------------------------------------------------------------

    def registered(self, app: str) -> bool:
        return any(app in s.apps for s in self.subscribers)

    def subscribe(self, apps: set[str], subscribe_all: bool) -> Subscriber:
        sub = Subscriber(apps, subscribe_all)
        self.subscribers.append(sub)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        if sub in self.subscribers:
            self.subscribers.remove(sub)

    def _targets(self, apps: set[str]) -> set[str]:
        wanted = set(apps)
        for sub in self.subscribers:
            if sub.subscribe_all:
                wanted |= sub.apps
        return wanted

    def emit(self, kind: str, apps: set[str], **fields: Any) -> None:
        """Send one event to each app in apps (and to subscribeAll apps), and log it."""
        for app in sorted(self._targets(apps)):
            body = ev.event(kind, app, self.options.asterisk_id, **fields)
            self.log.append({"seq": next(self._seq), "app": app, "event": body})
            for sub in self.subscribers:
                if app in sub.apps:
                    sub.queue.put_nowait(body)

    def chan_event(self, kind: str, ch: Channel, **fields: Any) -> None:
        self.emit(kind, ch.apps, channel=ch.json(), **fields)

    def note(self, ch: Channel, what: str, **fields: Any) -> None:
        ch.log.append({"t": self.now_s(), "what": what, **fields})

    # channels ---------------------------------------------------------------------------

    def new_channel(self, *, name: str, state: str, role: str, endpoint: str, **kw: Any) -> Channel:
        cid = kw.pop("id", None) or self.new_id()
        if cid in self.channels:
            raise AriError(409, "Channel with given unique ID already exists")
        ch = Channel(
            id=cid,
            name=name,
            state=state,
            role=role,
            endpoint=endpoint,
            creationtime=ev.timestamp(),
            language=kw.pop("language", None) or self.options.language,
            **kw,
        )
        self.channels[cid] = ch
        self.note(ch, "created", name=name, state=state)
        return ch

    def get_channel(self, cid: str) -> Channel:
        ch = self.channels.get(cid)
        if ch is None:
            raise AriError(404, "Channel not found")
        return ch

    def control(self, cid: str, *, media: bool = True) -> Channel:
        """find_control() and, for media and state operations, channel_state_invalid()."""
        ch = self.get_channel(cid)
        if ch.stasis_app is None:
            raise AriError(409, "Channel not in Stasis application")
        if media and ch.state in ("Down", "Rsrvd", "Ringing"):
            raise AriError(412, "Channel in invalid state")
        return ch

    def set_state(self, ch: Channel, state: str) -> None:
        if ch.state != state:
            ch.state = state
            self.note(ch, "state", state=state)
            self.chan_event("ChannelStateChange", ch)

    def enter_stasis(self, ch: Channel, app: str, args: list[str]) -> bool:
        """Stasis(app,args): False when no socket has registered app (the channel then hangs up)."""
        if not self.registered(app):
            self.note(ch, "stasis_failed", app=app)
            return False
        ch.apps.add(app)
        ch.stasis_app = app
        ch.args = args
        ch.dialplan.update(app_name="Stasis", app_data=",".join([app, *args]))
        self.note(ch, "stasis_start", app=app, args=args)
        self.emit("StasisStart", {app}, args=args, channel=ch.json())
        return True

    def leave_stasis(self, ch: Channel, *, keep_subscription: bool = False) -> None:
        if ch.stasis_app is None:
            return
        if ch.bridge_id:
            self.leave_bridge(ch)
        app = ch.stasis_app
        self.chan_event("StasisEnd", ch)
        ch.stasis_app = None
        if not keep_subscription:
            ch.apps.discard(app)

    def hangup(
        self, ch: Channel, cause: int, by: str, request: dict[str, Any] | None = None
    ) -> None:
        """Tear a channel down: request, media end, bridge exit, StasisEnd, ChannelDestroyed.

        request is the ChannelHangupRequest's fields, None when Asterisk sends none
        (a dial that fails or times out is hung up with ast_hangup()).
        """
        if ch.gone:
            return
        if request is not None:
            self.chan_event("ChannelHangupRequest", ch, **request)
        ch.gone = True
        self._stop_media(ch)
        self.after_dial_cancel(ch, by)
        if ch.bridge_id:
            self.leave_bridge(ch)
        self.leave_stasis(ch, keep_subscription=True)
        self.chan_event("ChannelDestroyed", ch, cause=cause, cause_txt=ev.cause_text(cause))
        self.note(ch, "hangup", cause=cause, cause_txt=ev.cause_text(cause), by=by)
        self.discard(ch)

    def discard(self, ch: Channel) -> None:
        """Forget a channel without any event (it left our view, or the PBX died)."""
        ch.gone = True
        for key in list(ch.timers):
            self.cancel(ch, key)
        current = asyncio.current_task()
        for task in list(ch.tasks):
            if task is not current:
                task.cancel()
        if self.channels.pop(ch.id, None) is not None:
            self.history.append(self.describe(ch))
        ch.changed.set()

    def _stop_media(self, ch: Channel) -> None:  # media.py fills this in
        pass

    def after_dial_cancel(self, ch: Channel, by: str) -> None:  # calls.py fills this in
        pass

    def describe(self, ch: Channel) -> dict[str, Any]:
        body = ch.json()
        body.update(
            role=ch.role,
            endpoint=ch.endpoint,
            stasis_app=ch.stasis_app,
            bridge=ch.bridge_id,
            moh=ch.moh,
            hold=ch.hold,
            variables=dict(ch.variables),
            log=list(ch.log),
        )
        return body

    # bridges ----------------------------------------------------------------------------

    def get_bridge(self, bid: str) -> Bridge:
        bridge = self.bridges.get(bid)
        if bridge is None:
            raise AriError(404, "Bridge not found")
        return bridge

    def join_bridge(self, bridge: Bridge, ch: Channel) -> None:
        if ch.bridge_id == bridge.id:
            return
        if ch.bridge_id:
            self.leave_bridge(ch)
        if ch.state == "Ring":  # a mixing bridge answers the channels it takes in
            self.set_state(ch, "Up")
        if ch.moh:
            ch.moh = None
            self.note(ch, "moh", on=False)
        ch.ringing = False
        bridge.channels.append(ch.id)
        bridge.apps |= ch.apps
        ch.bridge_id = bridge.id
        self.note(ch, "bridge_enter", bridge=bridge.id)
        self.emit(
            "ChannelEnteredBridge", ch.apps | bridge.apps, bridge=bridge.json(), channel=ch.json()
        )
        self.on_bridged(bridge)

    def leave_bridge(self, ch: Channel) -> None:
        bridge = self.bridges.get(ch.bridge_id or "")
        ch.bridge_id = None
        if bridge is None or ch.id not in bridge.channels:
            return
        bridge.channels.remove(ch.id)
        self.note(ch, "bridge_leave", bridge=bridge.id)
        self.emit(
            "ChannelLeftBridge", ch.apps | bridge.apps, bridge=bridge.json(), channel=ch.json()
        )

    def destroy_bridge(self, bridge: Bridge) -> None:
        for cid in list(bridge.channels):
            self.leave_bridge(self.channels[cid])
        self.bridges.pop(bridge.id, None)
        self.emit("BridgeDestroyed", bridge.apps, bridge=bridge.json())

    def on_bridged(self, bridge: Bridge) -> None:  # calls.py: patience and talk timers
        pass
