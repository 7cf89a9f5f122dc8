"""Asterisk ARI adapter: the REST interface for commands, the events WebSocket of a Stasis
application for what happens on the calls.

What it needs from Asterisk (docs/channels/voice.md shows the configuration): an ARI user
(``ari.conf``), the HTTP server (``http.conf``), and a dialplan that sends the bank's
numbers into ``Stasis(<app>,inbound,${EXTEN})``. Legs Omniline originates (agents' phones,
customers called back) are created with ``channelId`` = our leg id and enter the same
application with the arguments ``leg,<leg id>`` when they are answered.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import orjson
import websockets

from omniline.channels.voice.ari_http import AriHttp, HttpError
from omniline.channels.voice.contract import (
    CallOffered,
    CommandFailed,
    Digits,
    HangupSide,
    Held,
    HungUp,
    LegAnswered,
    LegFailed,
    LegRinging,
    LinkState,
    PbxEvent,
    Prompt,
    PromptDone,
    RecordingReady,
    RingSpec,
)

log = logging.getLogger(__name__)

Sink = Callable[[PbxEvent], Awaitable[None]]

# Q.850 causes of a leg that never answered.
FAILED_CAUSES = {17: "busy", 19: "no_answer", 21: "rejected", 18: "no_answer", 20: "unavailable"}
HANGUP_REASONS = {"normal", "busy", "congestion", "no_answer", "timeout", "rejected"}
# Requests in flight to the PBX at once: the latency-critical ones, and the rest.
URGENT_REQUESTS = 8
OTHER_REQUESTS = 16
URGENT_COMMANDS = {"ring", "answer", "connect"}


# The events we act on; the rest (most of the socket's traffic) are dropped unparsed.
HANDLED_EVENTS = frozenset(
    {
        "StasisStart",
        "ChannelDtmfReceived",
        "PlaybackFinished",
        "Dial",
        "ChannelHold",
        "ChannelUnhold",
        "ChannelDestroyed",
        "RecordingFinished",
    }
)


def parse_time(value: Any) -> datetime:
    """ARI timestamps look like ``2026-12-04T08:19:03.123+0000`` (``fromisoformat`` reads
    them, at a thirtieth of ``strptime``'s cost)."""
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            at = datetime.fromisoformat(value)
            return at.astimezone(UTC) if at.tzinfo is not None else at.replace(tzinfo=UTC)
        with contextlib.suppress(ValueError):
            return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%f%z").astimezone(UTC)
    return datetime.now(UTC)


def media_of(prompt: Prompt, language: str, tts_url: str) -> str:
    """One ARI media URI for a prompt. Texts go through the configured speech service,
    which Asterisk fetches over HTTP (its media cache) like any sound file."""
    if prompt.sound:
        return f"sound:{prompt.sound}"
    if prompt.digits:
        return f"digits:{prompt.digits}"
    if prompt.number is not None:
        return f"number:{prompt.number}"
    url = tts_url.replace("{lang}", quote(language or "en")).replace("{text}", quote(prompt.text))
    return f"sound:{url}"


class AriPbx:
    """Commands over ARI REST (one pooled client); events through :meth:`run_events`."""

    def __init__(
        self,
        base_url: str,
        user: str,
        password: str,
        app: str,
        *,
        dial_template: str = "PJSIP/{number}@trunk",
        tts_url: str = "",
        timeout: float = 5.0,
    ) -> None:
        self.base = base_url.rstrip("/")
        if not self.base.endswith("/ari"):
            self.base += "/ari"
        self.user, self.password, self.app = user, password, app
        self.dial_template = dial_template
        self.tts_url = tts_url
        self.timeout = timeout
        self.client = AriHttp(self.base, user, password, timeout=timeout)
        # At most this many requests at once (connections); rings and answers never queue
        # behind hang-ups.
        self._urgent = asyncio.Semaphore(URGENT_REQUESTS)
        self._other = asyncio.Semaphore(OTHER_REQUESTS)
        # Legs we originated that have not answered yet: their end is a LegFailed.
        self._ringing: set[str] = set()
        self._hung_up_by_us: set[str] = set()
        # Agents' phones we rang: never in a bridge of their own (bridges are named after
        # the customer's channel), so hanging one up needs no bridge deleted.
        self._phones: set[str] = set()
        self.received = 0  # events read from the socket (benchmarks)

    async def close(self) -> None:
        await self.client.close()

    async def _call(self, command: str, ref: str, method: str, path: str, **params: Any) -> Any:
        body = params.pop("_json", None)
        query = {k: v for k, v in params.items() if v is not None and v != ""}
        gate = self._urgent if command in URGENT_COMMANDS else self._other
        try:
            await asyncio.wait_for(gate.acquire(), self.timeout)
        except TimeoutError:
            raise CommandFailed(command, ref, "PBX unreachable: requests backed up") from None
        try:
            r = await self.client.request(method, path, params=query, json=body)
        except HttpError as exc:
            raise CommandFailed(command, ref, f"PBX unreachable: {exc}") from None
        finally:
            gate.release()
        if r.status >= 400:
            try:
                reason = str(orjson.loads(r.content).get("message") or r.reason)
            except (orjson.JSONDecodeError, AttributeError):
                reason = r.reason
            raise CommandFailed(command, ref, reason, r.status, gone=r.status == 404)
        return orjson.loads(r.content) if r.content else None

    # Commands -----------------------------------------------------------------------------

    async def answer(self, ref: str) -> None:
        await self._call("answer", ref, "POST", f"/channels/{ref}/answer")

    async def play(self, ref: str, prompts: list[Prompt], language: str, prompt_id: str) -> None:
        media = [media_of(p, language, self.tts_url) for p in prompts]
        await self._call(
            "play",
            ref,
            "POST",
            f"/channels/{ref}/play/{prompt_id}",
            media=",".join(media),
            lang=language or None,
        )

    async def stop_prompt(self, prompt_id: str) -> None:
        with contextlib.suppress(CommandFailed):
            await self._call("stop", prompt_id, "DELETE", f"/playbacks/{prompt_id}")

    async def music(self, ref: str, on: bool) -> None:
        try:
            await self._call("music", ref, "POST" if on else "DELETE", f"/channels/{ref}/moh")
        except CommandFailed as exc:
            if on or exc.status != 409:  # stopping music that is not playing is fine
                raise

    async def ring(self, spec: RingSpec) -> None:
        endpoint = spec.endpoint or self.dial_template.replace("{number}", spec.number)
        self._ringing.add(spec.leg)
        if spec.endpoint:
            self._phones.add(spec.leg)
        try:
            await self._call(
                "ring",
                spec.leg,
                "POST",
                f"/channels/{spec.leg}",
                endpoint=endpoint,
                app=self.app,
                appArgs=f"leg,{spec.leg}",
                callerId=spec.caller_id or None,
                timeout=int(spec.timeout_s),
                _json={"variables": spec.variables} if spec.variables else None,
            )
        except CommandFailed:
            self._ringing.discard(spec.leg)
            self._phones.discard(spec.leg)
            raise

    async def connect(self, ref: str, leg: str) -> None:
        bridge = f"b-{ref}"
        await self._call("connect", ref, "POST", f"/bridges/{bridge}", type="mixing")
        with contextlib.suppress(CommandFailed):
            await self.music(ref, False)
        await self._call(
            "connect", ref, "POST", f"/bridges/{bridge}/addChannel", channel=f"{ref},{leg}"
        )

    async def hold(self, ref: str, on: bool) -> None:
        await self._call("hold", ref, "POST" if on else "DELETE", f"/channels/{ref}/hold")

    async def transfer(self, ref: str, number: str) -> None:
        endpoint = self.dial_template.replace("{number}", number)
        await self._call("transfer", ref, "POST", f"/channels/{ref}/redirect", endpoint=endpoint)

    async def hangup(self, ref: str, reason: str = "normal") -> None:
        self._hung_up_by_us.add(ref)
        try:
            await self._call(
                "hangup",
                ref,
                "DELETE",
                f"/channels/{ref}",
                reason=reason if reason in HANGUP_REASONS else "normal",
            )
        except CommandFailed as exc:
            if not exc.gone:
                self._hung_up_by_us.discard(ref)
                raise
        if ref in self._phones:
            return
        with contextlib.suppress(CommandFailed):
            await self._call("hangup", ref, "DELETE", f"/bridges/b-{ref}")

    async def record(self, ref: str, name: str) -> None:
        await self._call(
            "record",
            ref,
            "POST",
            f"/bridges/b-{ref}/record",
            name=name,
            format="wav",
            ifExists="overwrite",
        )

    async def refs(self) -> set[str]:
        channels = await self._call("list", "", "GET", "/channels")
        return {str(c.get("id")) for c in channels or [] if isinstance(c, dict)}

    async def ping(self) -> bool:
        try:
            await self._call("ping", "", "GET", "/asterisk/info")
        except CommandFailed:
            return False
        return True

    # Events -------------------------------------------------------------------------------

    def events_url(self) -> str:
        parts = urlsplit(self.base)
        scheme = "wss" if parts.scheme == "https" else "ws"
        query = f"app={quote(self.app)}&api_key={quote(self.user)}:{quote(self.password)}"
        return urlunsplit((scheme, parts.netloc, parts.path + "/events", query, ""))

    async def run_events(self, sink: Sink, *, stop: asyncio.Event | None = None) -> None:
        """Read the events socket until cancelled, reconnecting with back-off; the sink sees
        ``LinkState`` on every loss and return (with the calls the PBX still holds)."""
        delay = 0.5
        up = False
        while stop is None or not stop.is_set():
            try:
                async with websockets.connect(
                    self.events_url(),
                    open_timeout=5,
                    ping_interval=5,
                    ping_timeout=5,
                    max_size=2**22,
                ) as ws:
                    channels = await self._call("list", "", "GET", "/channels") or []
                    refs = {str(c.get("id")) for c in channels if isinstance(c, dict)}
                    up, delay = True, 0.5
                    waiting = tuple(self.held_calls(channels))
                    await sink(LinkState(True, datetime.now(UTC), frozenset(refs), waiting=waiting))
                    async for raw in ws:
                        self.received += 1
                        for event in self.translate(orjson.loads(raw)):
                            await sink(event)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the PBX went away: say so once, then retry
                if up:
                    up = False
                    await sink(LinkState(False, datetime.now(UTC), error=describe(exc)))
                elif delay == 0.5:
                    await sink(LinkState(False, datetime.now(UTC), error=describe(exc)))
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
            else:
                if up:
                    up = False
                    await sink(LinkState(False, datetime.now(UTC), error="events socket closed"))
                await asyncio.sleep(delay)

    def held_calls(self, channels: list[Any]) -> list[CallOffered]:
        """Customers' calls sitting in our application (``Stasis(<app>,inbound,...)``)."""
        out = []
        for ch in channels:
            if not isinstance(ch, dict):
                continue
            plan = ch.get("dialplan") or {}
            data = str(plan.get("app_data") or "").split(",")
            if plan.get("app_name") != "Stasis" or data[:2] != [self.app, "inbound"]:
                continue
            caller = ch.get("caller") or {}
            out.append(
                CallOffered(
                    str(ch.get("id")),
                    str(caller.get("number") or ""),
                    data[2] if len(data) > 2 else str(plan.get("exten") or ""),
                    parse_time(ch.get("creationtime")),
                    caller_name=str(caller.get("name") or ""),
                    language=str(ch.get("language") or ""),
                )
            )
        return out

    def translate(self, ev: dict[str, Any]) -> list[PbxEvent]:
        """One ARI event as contract events (most give none: we act on a few)."""
        kind = ev.get("type")
        if kind not in HANDLED_EVENTS:
            return []
        if kind == "Dial" and ev.get("dialstatus") != "RINGING":
            return []
        at = parse_time(ev.get("timestamp"))
        raw_channel = ev.get("channel")
        channel: dict[str, Any] = raw_channel if isinstance(raw_channel, dict) else {}
        cid = str(channel.get("id", ""))
        if kind == "StasisStart":
            args = [str(a) for a in ev.get("args") or []]
            if args[:1] == ["leg"]:
                leg = args[1] if len(args) > 1 else cid
                self._ringing.discard(leg)
                return [LegAnswered(leg, at)]
            caller = channel.get("caller") or {}
            dialled = (
                args[1] if len(args) > 1 else str((channel.get("dialplan") or {}).get("exten", ""))
            )
            return [
                CallOffered(
                    cid,
                    str(caller.get("number") or ""),
                    dialled,
                    at,
                    caller_name=str(caller.get("name") or ""),
                    language=str(channel.get("language") or ""),
                )
            ]
        if kind == "ChannelDtmfReceived":
            return [Digits(cid, str(ev.get("digit", "")), at)]
        if kind == "PlaybackFinished":
            pb = ev.get("playback") or {}
            target = str(pb.get("target_uri", ""))
            ref = target.split(":", 1)[1] if target.startswith("channel:") else target
            return [PromptDone(ref, str(pb.get("id", "")), at)]
        if kind == "Dial":
            peer = ev.get("peer") or {}
            if ev.get("dialstatus") == "RINGING" and peer.get("id") in self._ringing:
                return [LegRinging(str(peer["id"]), at)]
            return []
        if kind in ("ChannelHold", "ChannelUnhold"):
            return [Held(cid, kind == "ChannelHold", at)]
        if kind == "ChannelDestroyed":
            cause = ev.get("cause")
            cause = cause if isinstance(cause, int) else None
            self._phones.discard(cid)
            if cid in self._ringing:
                self._ringing.discard(cid)
                return [LegFailed(cid, FAILED_CAUSES.get(cause or 0, "failed"), at, cause)]  # type: ignore[arg-type]
            side: HangupSide | None = "system" if cid in self._hung_up_by_us else None
            self._hung_up_by_us.discard(cid)
            return [HungUp(cid, at, cause, side)]
        if kind == "RecordingFinished":
            rec = ev.get("recording") or {}
            target = str(rec.get("target_uri", ""))
            ref = target.split(":", 1)[1] if ":" in target else target
            if ref.startswith("b-"):
                ref = ref[2:]
            duration = rec.get("duration")
            return [
                RecordingReady(
                    ref,
                    str(rec.get("name", "")),
                    at,
                    float(duration) if isinstance(duration, int | float) else None,
                    str(rec.get("format") or "wav"),
                )
            ]
        return []


def describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:300]
