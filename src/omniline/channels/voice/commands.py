"""Agents' and supervisors' actions on a call, carried out by the controller that holds it.

The workspace's API checks who may act and publishes a :class:`Command` on the realtime
bus (``link.py`` hands it to the inbox's controller, in whichever process holds the PBX
link); the PBX's events then tell everyone what happened. A command the PBX refuses
reaches the agent as ``voice.error``, and the call stays as it was, for them to retry.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from omniline.channels.voice import calls, prompts
from omniline.channels.voice.contract import CommandFailed, Prompt
from omniline.channels.voice.models import CallState, EndReason
from omniline.realtime.events import Audience, RealtimeEvent
from omniline.realtime.service import publish_on_commit

if TYPE_CHECKING:
    from omniline.channels.voice.controller import Command, Controller, Item


async def handle_command(ctrl: Controller, session: AsyncSession, cmd: Command) -> None:
    if cmd.action == "ready":
        agent = ctrl.agents.get(cmd.by)
        if agent is not None and agent.call_ref is None:
            agent.acw_until = ctrl.clock()
        return
    ref = ctrl.by_call_id.get(cmd.call_id)
    live = ctrl.calls.get(ref or "")
    if live is None:
        _error(ctrl, session, cmd, "the call is over")
        return
    on_fail = _reporter(ctrl, cmd)
    if cmd.action in ("hold", "unhold"):
        if live.state not in (CallState.talking.value, CallState.hold.value):
            _error(ctrl, session, cmd, "the call is not connected")
            return
        on = cmd.action == "hold"
        ctrl._cmd(live.ref, lambda: ctrl.pbx.hold(live.ref, on), on_fail)
    elif cmd.action == "hangup":
        target = live.agent_leg or live.ref
        ctrl._cmd(target, lambda: ctrl.pbx.hangup(target), on_fail)
    elif cmd.action == "decline":
        for leg_id, leg in list(ctrl.legs.items()):
            if leg.agent_id == cmd.by and not leg.answered and leg.ref == live.ref:
                ctrl._cmd(leg_id, partial(ctrl.pbx.hangup, leg_id, "busy"), on_fail)
    elif cmd.action == "transfer":
        await _transfer(ctrl, session, live, cmd)


async def _transfer(ctrl: Controller, session: AsyncSession, live: object, cmd: Command) -> None:
    from omniline.channels.voice.controller import Live

    assert isinstance(live, Live)
    if live.state not in (CallState.talking.value, CallState.hold.value):
        _error(ctrl, session, cmd, "the call is not connected")
        return
    call, conv = await ctrl._records(session, live)
    now = datetime.now(UTC)
    number = str(cmd.args.get("to_number") or "")
    queue_id = cmd.args.get("to_queue_id")
    agent_leg = live.agent_leg
    if number:
        ev = calls.add_event(
            session, conv, "call_transferred", {"to_number": number}, now, agent=(cmd.by, "")
        )
        await calls.publish(session, conv, ev)
        ctrl._cmd(live.ref, lambda: ctrl.pbx.transfer(live.ref, number), _reporter(ctrl, cmd))
        if agent_leg:
            ctrl._drop_leg(agent_leg)  # before the agent is free: one call at a time
        await ctrl._end(session, live, now, EndReason.transferred.value, "agent", None)
        ctrl.calls.pop(live.ref, None)
        return
    if not isinstance(queue_id, int) or queue_id not in ctrl.queue_specs:
        _error(ctrl, session, cmd, "no such queue")
        return
    # To another queue: the agent leaves, the caller hears music and waits there.
    if agent_leg:
        ctrl._drop_leg(agent_leg)  # before the agent is free: one call at a time
    await ctrl._agent_done(session, live, call, conv, now, await ctrl._agent_leaves(session, live))
    live.agent_leg = None
    live.agent_id = None
    call.agent_id = None
    call.answered_at = None
    ev = calls.add_event(
        session,
        conv,
        "call_transferred",
        {"from_queue_id": live.queue_id, "to_queue_id": queue_id},
        now,
        agent=(cmd.by, ""),
    )
    await calls.publish(session, conv, ev)
    conv.assignee_id = None
    ctrl._say(live, [Prompt(text=prompts.text("transfer", live.language))], then="music")
    await ctrl._to_queue(session, live, call, conv, queue_id, now)


def _reporter(ctrl: Controller, cmd: Command) -> Callable[[CommandFailed], Item | None]:
    def on_fail(exc: CommandFailed) -> Item | None:
        from omniline.channels.voice.link import publish_now

        publish_now(
            RealtimeEvent(
                type="voice.error",
                data={"call_id": cmd.call_id, "action": cmd.action, "reason": exc.reason},
                audience=Audience(workspace_id=ctrl.workspace_id, user_id=cmd.by),
            )
        )
        return None

    return on_fail


def _error(ctrl: Controller, session: AsyncSession, cmd: Command, reason: str) -> None:
    publish_on_commit(
        session,
        RealtimeEvent(
            type="voice.error",
            data={"call_id": cmd.call_id, "action": cmd.action, "reason": reason},
            audience=Audience(workspace_id=ctrl.workspace_id, user_id=cmd.by),
        ),
    )
