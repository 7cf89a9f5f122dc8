"""Which process runs each voice inbox's controller, and the wires into it.

The events socket of an Asterisk application (and the order of a CTI provider's events)
wants one consumer, so one process holds each inbox: it takes a lease in ``voice_links``
and renews it; another process takes over when the lease runs out (the holder died). The
controller in the holder hears agents' presence changes and the workspace's commands over
the realtime bus, so they reach it from whichever process served the request.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from omniline import db
from omniline.channels.voice.ari import AriPbx
from omniline.channels.voice.contract import Pbx
from omniline.channels.voice.controller import AgentChanged, Command, Controller
from omniline.channels.voice.models import VoiceLink
from omniline.inboxes.models import Inbox
from omniline.kit.clock import utcnow
from omniline.realtime.events import Audience, RealtimeEvent
from omniline.realtime.service import get_realtime, publish_on_commit

log = logging.getLogger(__name__)

LEASE_S = 15.0
RENEW_S = 5.0
COMMAND = "voice.command"
HOLDER = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass
class Running:
    controller: Controller
    pbx: Any
    tasks: list[asyncio.Task[None]]


_running: dict[int, Running] = {}
_listening: list[object] = []  # the bus this process listens on (tests make new ones)


def controller_of(inbox_id: int) -> Controller | None:
    found = _running.get(inbox_id)
    return found.controller if found else None


def make_pbx(inbox: Inbox) -> Pbx:
    s = inbox.settings or {}
    if s.get("provider") == "cti":
        from omniline.channels.voice.cti import CtiPbx

        return CtiPbx(inbox)
    return AriPbx(
        str(s.get("ari_url") or "http://127.0.0.1:8088"),
        str(s.get("ari_user") or ""),
        str(s.get("ari_password") or ""),
        str(s.get("ari_app") or "omniline"),
        dial_template=str(s.get("dial_template") or "PJSIP/{number}@trunk"),
        tts_url=str(s.get("tts_url") or ""),
    )


def _on_bus(event: RealtimeEvent) -> None:
    if event.type == "presence.changed":
        user_id = event.data.get("user_id")
        # One change is published once per audience; the agent's own one is always there.
        if not isinstance(user_id, int) or event.audience.user_id != user_id:
            return
        status = event.data.get("status")
        for running in _running.values():
            if running.controller.workspace_id == event.audience.workspace_id:
                running.controller.submit(
                    AgentChanged(user_id, status if isinstance(status, str) else None)
                )
    elif event.type == COMMAND:
        target = _running.get(int(event.data.get("inbox_id") or 0))
        if target is not None:
            target.controller.submit(
                Command(
                    str(event.data["action"]),
                    int(event.data["call_id"]),
                    int(event.data["by"]),
                    dict(event.data.get("args") or {}),
                )
            )


def _listen() -> None:
    bus = get_realtime().bus
    if not any(b is bus for b in _listening):
        bus.listen(_on_bus)
        _listening[:] = [bus]


def send_command(
    session: AsyncSession,
    workspace_id: int,
    inbox_id: int,
    action: str,
    call_id: int,
    by: int,
    args: dict[str, Any] | None = None,
) -> None:
    """To the controller of ``inbox_id``, wherever it runs; nobody's socket receives it."""
    publish_on_commit(
        session,
        RealtimeEvent(
            type=COMMAND,
            data={
                "inbox_id": inbox_id,
                "action": action,
                "call_id": call_id,
                "by": by,
                "args": args or {},
            },
            audience=Audience(workspace_id=0, staff=False, roles=[]),
        ),
    )


def publish_now(event: RealtimeEvent) -> None:
    with contextlib.suppress(RuntimeError):
        asyncio.get_running_loop().create_task(get_realtime().bus.publish([event]))


async def start(inbox_id: int, pbx: Pbx | None = None) -> Controller:
    """Run the inbox's controller here (the caller holds the lease, or a test says so)."""
    _listen()
    if inbox_id in _running:
        return _running[inbox_id].controller
    if pbx is None:
        async with db.sessionmaker()() as session:
            inbox = await session.get(Inbox, inbox_id)
            if inbox is None:
                raise LookupError(f"no inbox {inbox_id}")
            pbx = make_pbx(inbox)
    controller = Controller(inbox_id, pbx)
    await controller.start()
    tasks = [asyncio.create_task(controller.run(), name=f"voice:{inbox_id}")]
    run_events = getattr(pbx, "run_events", None)
    if run_events is not None:
        tasks.append(asyncio.create_task(run_events(controller.sink), name=f"voice-ev:{inbox_id}"))
    _running[inbox_id] = Running(controller, pbx, tasks)
    return controller


async def stop(inbox_id: int) -> None:
    running = _running.pop(inbox_id, None)
    if running is None:
        return
    running.controller.stop()
    running.controller.cancel_commands()
    for task in running.tasks:
        task.cancel()
    for task in running.tasks:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
    close = getattr(running.pbx, "close", None)
    if close is not None:
        with contextlib.suppress(Exception):
            await close()


async def stop_all() -> None:
    for inbox_id in list(_running):
        await stop(inbox_id)


async def _lease(session: AsyncSession, inbox: Inbox) -> bool:
    """Take or renew this process's lease of the inbox's link; False if another holds it."""
    now = utcnow()
    until = now + timedelta(seconds=LEASE_S)
    link = await session.get(VoiceLink, inbox.id)
    if link is None:
        session.add(
            VoiceLink(
                inbox_id=inbox.id, workspace_id=inbox.workspace_id, holder=HOLDER, lease_until=until
            )
        )
        await session.flush()
        return True
    result = await session.execute(
        update(VoiceLink)
        .where(
            VoiceLink.inbox_id == inbox.id,
            or_(
                VoiceLink.holder == HOLDER, VoiceLink.holder.is_(None), VoiceLink.lease_until < now
            ),
        )
        .values(holder=HOLDER, lease_until=until)
    )
    return bool(getattr(result, "rowcount", 0))


async def loop() -> None:
    """The background loop of a job-running process: hold what it can, drop what it lost."""
    _listen()
    try:
        while True:
            await _round()
            await asyncio.sleep(RENEW_S)
    finally:
        await stop_all()


async def _round() -> None:
    try:
        async with db.sessionmaker()() as session:
            inboxes = list(
                await session.scalars(
                    select(Inbox).where(Inbox.channel == "voice", Inbox.enabled.is_(True))
                )
            )
            held = {i.id for i in inboxes if await _lease(session, i)}
            await session.commit()
    except Exception:
        log.exception("voice links: lease round failed")
        return
    for inbox_id in list(_running):
        if inbox_id not in held:
            await stop(inbox_id)
    for inbox_id in held - set(_running):
        try:
            await start(inbox_id)
        except Exception:
            log.exception("voice inbox %s: controller did not start", inbox_id)
