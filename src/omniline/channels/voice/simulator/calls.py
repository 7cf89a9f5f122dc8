"""Who is on the other end: customers calling in, agents' phones, external numbers.

Dial flow for a channel Omniline originates (POST /channels or /channels/{id}/dial):
Dial "" at once, then Ringing (ChannelStateChange, Dial RINGING), then one of
answer (ChannelStateChange Up, Dial ANSWER, StasisStart when originated with app),
busy (Dial BUSY, ChannelDestroyed 17), reject (Dial BUSY, ChannelDestroyed 21) or
timeout (Dial NOANSWER, ChannelDestroyed 19).
"""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass, field
from typing import Any

from omniline.channels.voice.simulator import events as ev
from omniline.channels.voice.simulator.media import Media
from omniline.channels.voice.simulator.world import AriError, Bridge, Channel

RING_AFTER_S = 0.1  # from the INVITE to the far end's 180 Ringing
REJECT_AFTER_S = 0.5
BUSY_AFTER_S = 0.2
DTMF_GAP_S = 0.1


@dataclass
class Phone:
    endpoint: str
    answer_after_s: float | None = 1.0  # None: answered only through /_sim/phones/.../answer
    talk_s: float | None = None
    reject: bool = False


@dataclass
class Number:
    number: str
    answer_after_s: float | None = 1.0  # None: never answers (the dial times out)
    script: list[dict[str, Any]] = field(default_factory=list)
    talk_s: float | None = None
    busy: bool = False


def number_of(endpoint: str) -> str | None:
    """ "PJSIP/+380501234567@trunk" and "Local/+380...@from-internal" -> the number; else None."""
    _, _, resource = endpoint.partition("/")
    if "@" not in resource:
        return None
    return resource.split("@", 1)[0] or None


class Calls(Media):
    def __init__(self, *a: Any, **kw: Any) -> None:
        super().__init__(*a, **kw)
        self.phones: dict[str, Phone] = {}
        self.numbers: dict[str, Number] = {}
        self.dials: dict[str, dict[str, Any]] = {}  # channel id -> dial in progress

    # inbound ------------------------------------------------------------------------------

    def inbound(self, spec: dict[str, Any]) -> Channel:
        """A customer calls the trunk; the dialplan runs Stasis(app,inbound,${EXTEN})."""
        caller, dialled = str(spec.get("caller") or ""), str(spec.get("dialled") or "")
        if not caller or not dialled:
            raise AriError(400, "caller and dialled are required")
        app = self.options.app
        if self.down:
            raise AriError(503, "the PBX is down")
        if not self.registered(app):
            raise AriError(409, f"Stasis app '{app}' is not registered: no events socket")
        ch = self.new_channel(
            name=self.new_name(f"PJSIP/{self.options.trunk}"),
            state="Ring",
            role="inbound",
            endpoint=f"PJSIP/{self.options.trunk}",
            caller=ev.party(str(spec.get("caller_name") or ""), caller),
            connected=ev.party(),
            dialplan=ev.dialplan("from-trunk", dialled),
            language=spec.get("language"),
            script=list(spec.get("script") or []),
            patience_s=spec.get("patience_s"),
            talk_s=spec.get("talk_s"),
        )
        self.enter_stasis(ch, app, ["inbound", dialled])
        if ch.script:
            self.spawn(ch, self.run_script(ch))
        return ch

    async def run_script(self, ch: Channel) -> None:
        for step in ch.script:
            if ch.gone:
                return
            if "wait_playbacks" in step:
                target = ch.finished_playbacks + int(step["wait_playbacks"])
                while ch.finished_playbacks < target and not ch.gone:
                    ch.changed.clear()
                    await ch.changed.wait()
            elif "press" in step:
                await self.press(ch, str(step["press"]))
            elif "sleep" in step:
                await self.sleep(float(step["sleep"]))
            elif step.get("hangup"):
                self.remote_hangup(ch, "script")
                return

    async def press(self, ch: Channel, digits: str) -> None:
        for i, digit in enumerate(digits):
            if ch.gone:
                return
            if i:
                await self.sleep(DTMF_GAP_S)
            self.dtmf_in(ch, digit)

    def remote_hangup(self, ch: Channel, by: str, cause: int = ev.NORMAL) -> None:
        """The far end hangs up: chan_pjsip queues a hangup with the cause and no "soft"."""
        self.hangup(ch, cause, by, request={"cause": cause})

    # patience and talk --------------------------------------------------------------------

    def waiting_started(self, ch: Channel) -> None:
        waiting = ch.patience_s is not None and not self._bridged_with_other(ch)
        if waiting and "patience" not in ch.timers:
            assert ch.patience_s is not None
            self.later(ch, "patience", ch.patience_s, lambda: self._lose_patience(ch))

    def _lose_patience(self, ch: Channel) -> None:
        if not self._bridged_with_other(ch):
            self.remote_hangup(ch, "patience")

    def _bridged_with_other(self, ch: Channel) -> bool:
        bridge = self.bridges.get(ch.bridge_id or "")
        return bridge is not None and len(bridge.channels) > 1

    def on_bridged(self, bridge: Bridge) -> None:
        if len(bridge.channels) < 2:
            return
        for cid in bridge.channels:
            ch = self.channels[cid]
            others = [c for c in bridge.channels if c != cid]
            self.note(ch, "bridged_with", channels=others, bridge=bridge.id)
            self.cancel(ch, "patience")
            if ch.talk_s is not None and not ch.was_bridged:
                self.later(ch, "talk", ch.talk_s, functools.partial(self.remote_hangup, ch, "talk"))
            ch.was_bridged = True

    # originate and dial -------------------------------------------------------------------

    def resolve(self, endpoint: str) -> tuple[str, Phone | Number]:
        """The far end an endpoint reaches, or 500 as when chan_pjsip cannot create the channel."""
        phone = self.phones.get(endpoint)
        if phone is not None:
            return "phone", phone
        number = number_of(endpoint)
        if number is not None:
            plan = self.numbers.get(number)
            if plan is None:
                plan = Number(number, answer_after_s=self.options.number_answer_s)
            return "number", plan
        raise AriError(500, "Allocation failed")

    def outbound_channel(self, endpoint: str, params: dict[str, Any], app: str | None) -> Channel:
        tech, _, resource = endpoint.partition("/")
        if not tech or not resource:
            raise AriError(400, "Invalid endpoint specified")
        role, far = self.resolve(endpoint)
        if tech.lower() == "local":
            name = self.new_name(f"Local/{resource}") + ";1"
        elif role == "number":
            name = self.new_name(f"{tech}/{resource.split('@', 1)[1]}")
        else:
            name = self.new_name(endpoint)
        cid_name, cid_num = _parse_callerid(str(params.get("callerId") or ""))
        ch = self.new_channel(
            id=params.get("channelId") or None,
            name=name,
            state="Down",
            role=role,
            endpoint=endpoint,
            caller=ev.party(cid_name, cid_num),
            connected=ev.party(cid_name, cid_num),
            dialplan=ev.dialplan(
                str(params.get("context") or "default"),
                str(params.get("extension") or "s"),
                int(params.get("priority") or 1),
            ),
            variables={str(k): str(v) for k, v in (params.get("variables") or {}).items()},
        )
        if isinstance(far, Number):
            ch.script, ch.talk_s = list(far.script), far.talk_s
        else:
            ch.talk_s = far.talk_s
        if app:
            ch.apps.add(app)
        return ch

    def start_dial(
        self,
        ch: Channel,
        timeout_s: float | None,
        stasis: tuple[str, list[str]] | None,
        caller: Channel | None = None,
    ) -> None:
        """Ring the far end. stasis: the app and args StasisStart gets on answer."""
        _, far = self.resolve(ch.endpoint)
        dial = {"stasis": stasis, "caller": caller.id if caller else None}
        self.dials[ch.id] = dial
        ch.dialing = True
        self.note(ch, "dial", endpoint=ch.endpoint)
        self._dial_event(ch, "")
        if isinstance(far, Number) and far.busy:
            self.later(ch, "dial", BUSY_AFTER_S, lambda: self.fail_dial(ch, "BUSY", ev.BUSY))
            return
        self.later(ch, "ring", RING_AFTER_S, lambda: self._ringing(ch, far))
        if timeout_s is not None and timeout_s > 0:
            self.later(
                ch, "timeout", timeout_s, lambda: self.fail_dial(ch, "NOANSWER", ev.NO_ANSWER)
            )

    def _ringing(self, ch: Channel, far: Phone | Number) -> None:
        self.set_state(ch, "Ringing")
        self._dial_event(ch, "RINGING")
        if isinstance(far, Phone) and far.reject:
            self.later(ch, "dial", REJECT_AFTER_S, lambda: self.fail_dial(ch, "BUSY", ev.REJECTED))
        elif far.answer_after_s is not None:
            self.later(ch, "dial", far.answer_after_s, lambda: self.far_answer(ch))

    def _dial_event(self, ch: Channel, status: str) -> None:
        fields: dict[str, Any] = {}
        dial = self.dials.get(ch.id) or {}
        caller = self.channels.get(dial.get("caller") or "")
        if caller is not None:
            fields["caller"] = caller.json()
        _, _, resource = ch.endpoint.partition("/")
        self.emit(
            "Dial",
            ch.apps,
            peer=ch.json(),
            forward="",
            dialstring=resource,
            dialstatus=status,
            **fields,
        )

    def fail_dial(self, ch: Channel, status: str, cause: int) -> None:
        if not ch.dialing:
            return
        self._dial_event(ch, status)
        ch.dialing = False
        self.dials.pop(ch.id, None)
        self.hangup(ch, cause, "far_end" if cause != ev.NO_ANSWER else "timeout")

    def far_answer(self, ch: Channel) -> None:
        if not ch.dialing:
            return
        dial = self.dials.pop(ch.id, {})
        ch.dialing = False
        self.cancel(ch, "timeout")
        self.set_state(ch, "Up")
        self._dial_event(ch, "ANSWER")
        stasis = dial.get("stasis")
        if stasis and not self.enter_stasis(ch, stasis[0], stasis[1]):
            self.hangup(ch, ev.NORMAL, "pbx")
            return
        if ch.script:
            self.spawn(ch, self.run_script(ch))

    def after_dial_cancel(self, ch: Channel, by: str) -> None:
        if ch.dialing:
            ch.dialing = False
            self._dial_event(ch, "CANCEL")
            self.dials.pop(ch.id, None)

    def phone_channels(self, endpoint: str) -> list[Channel]:
        return [c for c in self.channels.values() if c.role == "phone" and c.endpoint == endpoint]

    # leaving Stasis -----------------------------------------------------------------------

    def leave_to_dialplan(self, ch: Channel, what: str, **fields: Any) -> None:
        """continue / redirect: StasisEnd, then the channel is out of the app's sight."""
        self.note(ch, what, **fields)
        self.cancel(ch, "patience")
        self.leave_stasis(ch)
        self.note(ch, "hangup", cause=ev.NORMAL, cause_txt=ev.cause_text(ev.NORMAL), by=what)
        self.discard(ch)

    # outage and reset ---------------------------------------------------------------------

    def set_down(self, down: bool) -> None:
        """A dead Asterisk: sockets close, channels vanish with no event; a restart has none."""
        self.down = down
        if down:
            for sub in list(self.subscribers):
                sub.queue.put_nowait(None)
            self.subscribers.clear()
            self.wipe("outage")

    def wipe(self, why: str) -> None:
        for ch in list(self.channels.values()):
            self.note(ch, "hangup", cause=0, cause_txt=why, by="pbx")
            self.discard(ch)
        self.bridges.clear()
        self.playbacks.clear()
        self.queues.clear()
        self.players.clear()
        self.live.clear()
        self.dials.clear()

    def state(self) -> dict[str, Any]:
        return {
            "down": self.down,
            "registered_apps": sorted({a for s in self.subscribers for a in s.apps}),
            "channels": [self.describe(c) for c in self.channels.values()],
            "bridges": [b.json() for b in self.bridges.values()],
            "phones": [asdict(p) for p in self.phones.values()],
            "numbers": [asdict(n) for n in self.numbers.values()],
            "recordings": sorted(self.stored),
            "history": list(self.history),
        }


def _parse_callerid(text: str) -> tuple[str, str]:
    """'"Name" <number>' or 'Name <number>' or 'number' -> (name, number)."""
    if "<" in text and text.endswith(">"):
        name, _, number = text[:-1].partition("<")
        return name.strip().strip('"'), number.strip()
    return "", text.strip()
