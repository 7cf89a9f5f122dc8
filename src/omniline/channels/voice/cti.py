"""The generic HTTP CTI API, for PBXes and telephony providers other than Asterisk.

In: the PBX posts call events to ``/voice/cti/<inbox key>``, each signed with HMAC-SHA256
of ``<timestamp>.<body>`` under the inbox's CTI secret (headers ``X-Omniline-Timestamp``,
``X-Omniline-Signature: sha256=<hex>``); an event is committed before the 2xx, and one
repeated with the same ``id`` is stored once. The inbox's controller reads them in order.
Out: Omniline posts commands to the configured URL, signed the same way; a 2xx means
done, 404 means the call is gone, anything else is a refusal the agent sees.
The link: when the PBX has been silent for ``LINK_CHECK_S`` (no event, no answer to a
command), Omniline asks it for its calls (``list``); no answer, or a 5xx, takes the line
down for supervisors, and the first answer brings it back up with the calls the PBX still
holds, so calls that ended meanwhile are closed in the statistics.
docs/channels/voice.md lists the events and commands.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import time
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
from fastapi import Request
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from omniline import db
from omniline.auth.deps import SessionDep
from omniline.channels._kit import inbox_by_key, read_body
from omniline.channels.voice.contract import (
    CallOffered,
    CommandFailed,
    Digits,
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
    Transferred,
)
from omniline.channels.voice.models import CtiEvent
from omniline.errors import BadRequest, Forbidden, NotFound
from omniline.inboxes.models import Inbox
from omniline.kit.routing import router as make_router

router = make_router(tags=["channels"])
MAX_SKEW_S = 300
POLL_S = 0.2
LINK_CHECK_S = 10.0  # silence after which the PBX is asked whether it is there
RETRY_S = 2.0  # how often a line that is down is asked again
FAILED = {"busy", "no_answer", "unavailable", "rejected", "failed"}


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def check_signature(secret: str, request: Request, body: bytes) -> None:
    timestamp = request.headers.get("x-omniline-timestamp", "")
    given = request.headers.get("x-omniline-signature", "")
    if not secret:
        raise Forbidden("the inbox has no CTI secret")
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > MAX_SKEW_S:
        raise Forbidden("the timestamp is missing or too far from now")
    if not hmac.compare_digest(given.encode(), sign(secret, timestamp, body).encode()):
        raise Forbidden("the signature does not match")


def _at(raw: Any) -> datetime:
    if isinstance(raw, str):
        try:
            return datetime.fromisoformat(raw.replace("Z", "+00:00")).astimezone(UTC)
        except ValueError:
            pass
    return datetime.now(UTC)


def translate(body: dict[str, Any]) -> PbxEvent | None:
    """One CTI event as a contract event; an unknown type is kept but does nothing."""
    kind = body.get("type")
    ref = str(body.get("call") or "")
    leg = str(body.get("leg") or "")
    at = _at(body.get("at"))
    if kind == "call.offered" and ref:
        return CallOffered(
            ref,
            str(body.get("caller") or ""),
            str(body.get("dialled") or ""),
            at,
            caller_name=str(body.get("caller_name") or ""),
            language=str(body.get("language") or ""),
        )
    if kind == "call.digits" and ref:
        return Digits(ref, str(body.get("digits") or "")[:32], at)
    if kind == "call.prompt_done" and ref:
        return PromptDone(ref, str(body.get("prompt_id") or ""), at)
    if kind == "leg.ringing" and leg:
        return LegRinging(leg, at)
    if kind == "leg.answered" and leg:
        return LegAnswered(leg, at)
    if kind == "leg.failed" and leg:
        reason = str(body.get("reason") or "failed")
        return LegFailed(leg, reason if reason in FAILED else "failed", at)  # type: ignore[arg-type]
    if kind in ("call.hold", "call.unhold") and ref:
        return Held(ref, kind == "call.hold", at)
    if kind == "call.hangup" and (ref or leg):
        side = body.get("side")
        return HungUp(
            ref or leg,
            at,
            body.get("cause") if isinstance(body.get("cause"), int) else None,
            side if side in ("customer", "agent", "system", "pbx") else None,
        )
    if kind == "call.transferred" and ref:
        return Transferred(ref, str(body.get("to") or ""), at)
    if kind == "call.recording" and ref:
        duration = body.get("duration_s")
        return RecordingReady(
            ref,
            str(body.get("name") or ""),
            at,
            float(duration) if isinstance(duration, int | float) else None,
            url=str(body.get("url") or "")[:2000],
        )
    return None


@router.post("/voice/cti/{inbox_key}")
async def cti_event(inbox_key: str, request: Request, session: SessionDep) -> dict[str, Any]:
    inbox = await inbox_by_key(inbox_key, "voice")
    if inbox is None or inbox.settings.get("provider") != "cti":
        raise NotFound("no CTI phone line has this address")
    body = await read_body(request)
    check_signature(str(inbox.settings.get("cti_secret") or ""), request, body)
    try:
        event = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise BadRequest("the body is not JSON") from None
    if not isinstance(event, dict) or not isinstance(event.get("type"), str):
        raise BadRequest("an event is a JSON object with a type")
    event_id = event.get("id")
    if not isinstance(event_id, str) or not 1 <= len(event_id) <= 128:
        raise BadRequest("an event needs an id (1-128 characters) to be stored once")
    if await session.scalar(
        select(CtiEvent.id).where(CtiEvent.inbox_id == inbox.id, CtiEvent.event_id == event_id)
    ):
        return {"ok": True, "duplicate": True}
    try:
        async with session.begin_nested():
            session.add(CtiEvent(inbox_id=inbox.id, event_id=event_id, body=event))
    except IntegrityError:
        return {"ok": True, "duplicate": True}
    return {"ok": True}


class CtiPbx:
    """Commands over HTTP to the provider; events read from ``voice_cti_events`` in order."""

    def __init__(self, inbox: Inbox, *, timeout: float = 5.0) -> None:
        s = inbox.settings or {}
        self.inbox_id = inbox.id
        self.url = str(s.get("cti_url") or "")
        self.secret = str(s.get("cti_secret") or "")
        self.client = httpx.AsyncClient(timeout=timeout)
        # Legs we rang that have not answered: a PBX that reports their end as call.hangup
        # (not leg.failed) still means "not answered", as ARI's ChannelDestroyed does.
        self._ringing: set[str] = set()
        self.check_s = LINK_CHECK_S
        self.retry_s = RETRY_S
        self._up = True
        self._heard = time.monotonic()  # the PBX's last event or answer

    async def close(self) -> None:
        await self.client.aclose()

    async def _post(self, command: str, ref: str, **fields: Any) -> Any:
        body = orjson.dumps({"command": command, "call": ref, **fields})
        timestamp = str(int(time.time()))
        headers = {
            "content-type": "application/json",
            "x-omniline-timestamp": timestamp,
            "x-omniline-signature": sign(self.secret, timestamp, body),
        }
        try:
            r = await self.client.post(self.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise CommandFailed(command, ref, f"PBX unreachable: {type(exc).__name__}") from None
        if r.status_code < 500:
            self._heard = time.monotonic()
        if r.status_code >= 400:
            raise CommandFailed(
                command,
                ref,
                r.text[:200] or r.reason_phrase,
                r.status_code,
                gone=r.status_code == 404,
            )
        return orjson.loads(r.content) if r.content else None

    async def answer(self, ref: str) -> None:
        await self._post("answer", ref)

    async def play(self, ref: str, prompts: list[Prompt], language: str, prompt_id: str) -> None:
        items = [
            {
                k: v
                for k, v in (
                    ("text", p.text),
                    ("sound", p.sound),
                    ("digits", p.digits),
                    ("number", p.number),
                )
                if v not in ("", None)
            }
            for p in prompts
        ]
        await self._post("play", ref, prompts=items, language=language, prompt_id=prompt_id)

    async def stop_prompt(self, prompt_id: str) -> None:
        with contextlib.suppress(CommandFailed):
            await self._post("stop_prompt", "", prompt_id=prompt_id)

    async def music(self, ref: str, on: bool) -> None:
        await self._post("music", ref, on=on)

    async def ring(self, spec: RingSpec) -> None:
        self._ringing.add(spec.leg)
        try:
            await self._post(
                "ring",
                "",
                leg=spec.leg,
                extension=spec.endpoint,
                number=spec.number,
                caller_id=spec.caller_id,
                timeout_s=spec.timeout_s,
            )
        except CommandFailed:
            self._ringing.discard(spec.leg)
            raise

    async def connect(self, ref: str, leg: str) -> None:
        await self._post("connect", ref, leg=leg)

    async def hold(self, ref: str, on: bool) -> None:
        await self._post("hold", ref, on=on)

    async def transfer(self, ref: str, number: str) -> None:
        await self._post("transfer", ref, number=number)

    async def hangup(self, ref: str, reason: str = "normal") -> None:
        try:
            await self._post("hangup", ref, reason=reason)
        except CommandFailed as exc:
            if not exc.gone:
                raise

    async def record(self, ref: str, name: str) -> None:
        await self._post("record", ref, name=name)

    async def refs(self) -> set[str]:
        answer = await self._post("list", "")
        calls = answer.get("calls") if isinstance(answer, dict) else None
        return {str(c) for c in calls or []}

    async def ping(self) -> bool:
        try:
            await self.refs()
        except CommandFailed:
            return False
        return True

    async def _check(self) -> LinkState | None:
        """Ask the PBX for its calls; a ``LinkState`` when the line went down or came back."""
        now = datetime.now(UTC)
        try:
            answer = await self._post("list", "")
        except CommandFailed as exc:
            if exc.status is not None and exc.status < 500:
                # It answered, only not to `list`: there, but its calls are unknown.
                refs = None
            else:
                self._heard = time.monotonic()  # ask again in retry_s, not at once
                if not self._up:
                    return None
                self._up = False
                return LinkState(False, now, error=exc.reason[:500])
        else:
            calls = answer.get("calls") if isinstance(answer, dict) else None
            refs = frozenset(str(c) for c in calls or [])
        if self._up:
            return None
        self._up = True
        return LinkState(True, now, refs)

    def _check_due(self) -> bool:
        wait = self.check_s if self._up else min(self.retry_s, self.check_s)
        return time.monotonic() - self._heard >= wait

    def _unanswered(self, event: PbxEvent | None) -> PbxEvent | None:
        if isinstance(event, LegAnswered | LegFailed):
            self._ringing.discard(event.leg)
        elif isinstance(event, HungUp) and event.ref in self._ringing:
            self._ringing.discard(event.ref)
            return LegFailed(event.ref, "failed", event.at, event.cause)
        return event

    async def run_events(self, sink: Any) -> None:
        """Stored events in arrival order, each marked handled once handed over."""
        await sink(LinkState(True, datetime.now(UTC), None))
        while True:
            async with db.sessionmaker()() as session:
                rows = list(
                    await session.scalars(
                        select(CtiEvent)
                        .where(CtiEvent.inbox_id == self.inbox_id, CtiEvent.handled.is_(False))
                        .order_by(CtiEvent.id)
                        .limit(200)
                    )
                )
                for row in rows:
                    event = self._unanswered(translate(row.body or {}))
                    if event is not None:
                        await sink(event)
                if rows:
                    self._heard = time.monotonic()
                    await session.execute(
                        update(CtiEvent)
                        .where(CtiEvent.id.in_([r.id for r in rows]))
                        .values(handled=True)
                    )
                    await session.commit()
            if not rows:
                if self._check_due():
                    changed = await self._check()
                    if changed is not None:
                        await sink(changed)
                await asyncio.sleep(POLL_S)
