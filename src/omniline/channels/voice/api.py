"""The voice API: the softphone's controls, after-call work, the callback list, agents'
phones and queues' phone settings, and the calls of a conversation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import Query
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.auth import access
from omniline.auth.deps import CurrentPrincipal, SessionDep
from omniline.auth.principal import Principal
from omniline.channels.voice import callbacks as callback_service
from omniline.channels.voice import link
from omniline.channels.voice.config import VoiceSettings
from omniline.channels.voice.models import (
    CallbackStatus,
    CallState,
    VoiceAgent,
    VoiceCall,
    VoiceCallback,
    VoiceLink,
    VoiceQueue,
)
from omniline.channels.voice.schemas import (
    AgentPhoneIn,
    CallbackIn,
    TransferIn,
    VoiceQueueIn,
    WrapUpIn,
)
from omniline.channels.voice.views import call_view
from omniline.contacts import service as contacts
from omniline.contacts.models import Contact
from omniline.contacts.phones import normalize_phone
from omniline.conversations import service as conversations
from omniline.errors import Conflict, Invalid, NoSuch, NotFound, Taken
from omniline.inboxes.models import Inbox
from omniline.kit.clock import utcnow
from omniline.kit.fields import DateTime
from omniline.kit.ids import Id
from omniline.kit.openapi import refusals
from omniline.kit.routing import router as make_router
from omniline.workspaces import repository as workspaces

router = make_router(prefix="/api/v1/voice", tags=["voice"])


async def _call(session: AsyncSession, p: Principal, call_id: int) -> VoiceCall:
    call = await session.get(VoiceCall, call_id)
    if call is None or call.workspace_id != p.workspace_id:
        raise NotFound("no such call")
    return call


@router.get("/me")
async def my_phone(p: CurrentPrincipal, session: SessionDep) -> dict[str, Any]:
    """The signed-in agent's phone and the call they are on (the softphone's first view)."""
    phone = await session.get(VoiceAgent, p.user_id)
    current = await session.scalar(
        select(VoiceCall)
        .where(
            VoiceCall.workspace_id == p.workspace_id,
            VoiceCall.agent_id == p.user_id,
            (VoiceCall.state != CallState.ended.value) | (VoiceCall.acw_until > utcnow()),
        )
        .order_by(VoiceCall.id.desc())
        .limit(1)
    )
    return {
        "endpoint": phone.endpoint if phone else None,
        "call": await call_view(session, current) if current else None,
    }


@router.get("/calls/{call_id:int}")
async def get_call(call_id: Id, p: CurrentPrincipal, session: SessionDep) -> dict[str, Any]:
    call = await _call(session, p, call_id)
    await conversations.get_visible(session, p, call.conversation_id)
    return await call_view(session, call)


@router.get("/conversations/{conversation_id:int}/calls")
async def calls_of_conversation(
    conversation_id: Id, p: CurrentPrincipal, session: SessionDep
) -> dict[str, Any]:
    await conversations.get_visible(session, p, conversation_id)
    rows = await session.scalars(
        select(VoiceCall).where(VoiceCall.conversation_id == conversation_id).order_by(VoiceCall.id)
    )
    return {"items": [await call_view(session, c) for c in rows]}


# Before the generic "/calls/{id}/{action}" route, which would take "transfer" for itself.
@router.post("/calls/{call_id:int}/transfer", status_code=202)
async def transfer(
    call_id: Id, body: TransferIn, p: CurrentPrincipal, session: SessionDep
) -> dict[str, Any]:
    call = await _call(session, p, call_id)
    access.check_may_control_call(p, call.agent_id, call.queue_id)
    if call.state not in (CallState.talking.value, CallState.hold.value):
        raise Conflict("the call is not connected")
    if (body.to_number is None) == (body.to_queue_id is None):
        raise Invalid("to_number", "give either to_number or to_queue_id")
    args: dict[str, Any] = {}
    if body.to_number is not None:
        number = normalize_phone(body.to_number)
        if number is None:
            raise Invalid("to_number", "not a phone number")
        args["to_number"] = number
    else:
        if await workspaces.queue(session, p.workspace_id, body.to_queue_id or 0) is None:
            raise NoSuch("to_queue_id", "no such queue in this workspace")
        args["to_queue_id"] = body.to_queue_id
    link.send_command(session, p.workspace_id, call.inbox_id, "transfer", call.id, p.user_id, args)
    return {"sent": "transfer"}


async def _control(
    session: AsyncSession, p: Principal, call_id: int, action: str
) -> dict[str, Any]:
    """Hold, unhold, hang up (the agent's side: the caller then hears the rating question),
    or decline a ringing call. Carried out by the PBX; the result arrives as events."""
    call = await _call(session, p, call_id)
    if action == "decline":
        if call.state == CallState.ended.value:
            raise Conflict("the call is over")
    else:
        access.check_may_control_call(p, call.agent_id, call.queue_id)
        if call.state not in (CallState.talking.value, CallState.hold.value):
            raise Conflict("the call is not connected")
    link.send_command(session, p.workspace_id, call.inbox_id, action, call.id, p.user_id)
    return {"sent": action}


@router.post("/calls/{call_id:int}/hold", status_code=202)
async def hold(call_id: Id, p: CurrentPrincipal, session: SessionDep) -> dict[str, Any]:
    return await _control(session, p, call_id, "hold")


@router.post("/calls/{call_id:int}/unhold", status_code=202)
async def unhold(call_id: Id, p: CurrentPrincipal, session: SessionDep) -> dict[str, Any]:
    return await _control(session, p, call_id, "unhold")


@router.post("/calls/{call_id:int}/hangup", status_code=202)
async def hangup(call_id: Id, p: CurrentPrincipal, session: SessionDep) -> dict[str, Any]:
    return await _control(session, p, call_id, "hangup")


@router.post("/calls/{call_id:int}/decline", status_code=202)
async def decline(call_id: Id, p: CurrentPrincipal, session: SessionDep) -> dict[str, Any]:
    return await _control(session, p, call_id, "decline")


@router.put("/calls/{call_id:int}/wrapup")
async def wrap_up(
    call_id: Id, body: WrapUpIn, p: CurrentPrincipal, session: SessionDep
) -> dict[str, Any]:
    """The agent's disposition and notes; ``ready`` ends after-call work early."""
    call = await _call(session, p, call_id)
    access.check_may_control_call(p, call.agent_id, call.queue_id)
    if body.disposition is not None:
        call.disposition = body.disposition.strip() or None
    if body.notes is not None:
        call.notes = body.notes.strip() or None
    await session.flush()
    return await call_view(session, call)


@router.post("/ready", status_code=202)
async def ready(p: CurrentPrincipal, session: SessionDep) -> dict[str, Any]:
    """End the agent's after-call work now: the next call may ring."""
    rows = await session.scalars(
        select(VoiceCall).where(
            VoiceCall.workspace_id == p.workspace_id,
            VoiceCall.agent_id == p.user_id,
            VoiceCall.acw_until > utcnow(),
        )
    )
    inboxes = set()
    for call in rows:
        call.acw_until = utcnow()
        inboxes.add(call.inbox_id)
    for inbox_id in inboxes:
        link.send_command(session, p.workspace_id, inbox_id, "ready", 0, p.user_id)
    return {"ready": True}


# -- the callback list --------------------------------------------------------------------------


# live: pending or dialing; all: every status; or one status (CallbackStatus).
CallbackFilter = Literal["live", "all", "pending", "dialing", "done", "cancelled", "failed"]


@router.get("/callbacks")
async def list_callbacks(
    p: CurrentPrincipal,
    session: SessionDep,
    status: CallbackFilter = "live",
    limit: Annotated[int, Query(ge=1, le=500)] = 200,
) -> dict[str, Any]:
    access.check_may_manage_callbacks(p)
    items = await callback_service.listing(session, p.workspace_id, p.queue_ids, status, limit)
    return {"items": items}


@router.post("/callbacks", status_code=201)
async def create_callback(
    body: CallbackIn, p: CurrentPrincipal, session: SessionDep
) -> dict[str, Any]:
    """A callback an agent or supervisor books (a customer asked in chat, say)."""
    access.check_may_reply(p)
    inbox = await session.get(Inbox, body.inbox_id)
    if inbox is None or inbox.workspace_id != p.workspace_id or inbox.channel != "voice":
        raise NoSuch("inbox_id", "no such voice inbox in this workspace")
    settings = VoiceSettings.of(inbox.settings)
    number = normalize_phone(body.number, settings.region)
    if number is None:
        raise Invalid("number", "not a phone number")
    queue_id = body.queue_id or inbox.default_queue_id
    if queue_id is None or await workspaces.queue(session, p.workspace_id, queue_id) is None:
        raise NoSuch("queue_id", "no such queue in this workspace")
    if body.contact_id is not None:
        contact = await session.get(Contact, body.contact_id)
        if contact is None or contact.workspace_id != p.workspace_id:
            raise NoSuch("contact_id", "no such contact")
    else:
        contact = await contacts.find_or_create_by_address(
            session, p.workspace_id, "phone", number, None
        )
    cb = await callback_service.open_request(
        session,
        workspace_id=p.workspace_id,
        inbox_id=inbox.id,
        queue_id=queue_id,
        contact_id=contact.id,
        conversation_id=None,
        number=number,
        reason="agent",
        place_at=utcnow(),
        priority=0,
        settings=settings,
    )
    if cb is None:
        raise Conflict("this customer already has a callback waiting")
    return callback_service.view(cb, contact.name)


async def _callback(session: AsyncSession, p: Principal, cb_id: int) -> VoiceCallback:
    access.check_may_manage_callbacks(p)
    cb = await session.get(VoiceCallback, cb_id)
    if cb is None or cb.workspace_id != p.workspace_id:
        raise NotFound("no such callback")
    if p.queue_ids is not None and cb.queue_id not in p.queue_ids:
        raise NotFound("no such callback")
    return cb


@router.post("/callbacks/{cb_id:int}/cancel")
async def cancel_callback(cb_id: Id, p: CurrentPrincipal, session: SessionDep) -> dict[str, Any]:
    cb = await _callback(session, p, cb_id)
    if cb.status != CallbackStatus.pending.value:
        raise Conflict(f"the callback is {cb.status}")
    cb.status, cb.closed_at, cb.closed_by = CallbackStatus.cancelled.value, utcnow(), p.user_id
    cb.last_result = "cancelled"
    await session.flush()
    return callback_service.view(cb)


@router.post("/callbacks/{cb_id:int}/now")
async def callback_now(cb_id: Id, p: CurrentPrincipal, session: SessionDep) -> dict[str, Any]:
    """Move a waiting callback to the front: due now, ahead of its place in line."""
    cb = await _callback(session, p, cb_id)
    if cb.status != CallbackStatus.pending.value:
        raise Conflict(f"the callback is {cb.status}")
    cb.next_attempt_at = utcnow()
    cb.priority = max(cb.priority, 10)
    await session.flush()
    return callback_service.view(cb)


# -- set-up: agents' phones, queues, links -----------------------------------------------------


@router.put("/agents/{user_id:int}")
async def set_agent_phone(
    user_id: Id, body: AgentPhoneIn, p: CurrentPrincipal, session: SessionDep
) -> dict[str, Any]:
    access.check_admin(p)
    from omniline.auth.models import User

    user = await session.get(User, user_id)
    if user is None or user.workspace_id != p.workspace_id:
        raise NotFound("no such user")
    taken = await session.scalar(
        select(VoiceAgent.user_id).where(
            VoiceAgent.workspace_id == p.workspace_id,
            VoiceAgent.endpoint == body.endpoint,
            VoiceAgent.user_id != user_id,
        )
    )
    if taken is not None:
        raise Taken("endpoint", "another agent has this extension")
    row = await session.get(VoiceAgent, user_id)
    if row is None:
        row = VoiceAgent(user_id=user_id, workspace_id=p.workspace_id, endpoint=body.endpoint)
        session.add(row)
    row.endpoint, row.skills = body.endpoint, sorted(set(body.skills))
    await session.flush()
    _agent_changed(session, p.workspace_id, user_id)
    return {"user_id": user_id, "endpoint": row.endpoint, "skills": row.skills}


def _agent_changed(session: AsyncSession, workspace_id: int, user_id: int) -> None:
    from omniline.realtime.events import Audience, RealtimeEvent
    from omniline.realtime.service import publish_on_commit

    publish_on_commit(
        session,
        RealtimeEvent(
            type="presence.changed",
            data={"user_id": user_id, "phone": True},
            audience=Audience(workspace_id=workspace_id, user_id=user_id),
        ),
    )


@router.put(
    "/queues/{queue_id:int}",
    responses=refusals({422: "`overflow_to_queue_id` is the queue itself"}),
)
async def set_voice_queue(
    queue_id: Id, body: VoiceQueueIn, p: CurrentPrincipal, session: SessionDep
) -> dict[str, Any]:
    access.check_admin(p)
    if await workspaces.queue(session, p.workspace_id, queue_id) is None:
        raise NotFound("no such queue")
    if body.overflow_to_queue_id == queue_id:
        raise Invalid("overflow_to_queue_id", "another queue of this workspace")
    if body.overflow_to_queue_id is not None and (
        await workspaces.queue(session, p.workspace_id, body.overflow_to_queue_id) is None
    ):
        raise NoSuch("overflow_to_queue_id", "no such queue in this workspace")
    if body.overflow_to_queue_id and body.overflow_to_number:  # the schema's anyOf says so
        raise Invalid("overflow_to_number", "overflow to a queue or to a number, not both")
    row = await session.get(VoiceQueue, queue_id)
    if row is None:
        row = VoiceQueue(queue_id=queue_id, workspace_id=p.workspace_id)
        session.add(row)
    for name, value in body.model_dump().items():
        if name == "overflow_to_number" and value:
            value = normalize_phone(value)
        setattr(row, name, value)
    await session.flush()
    return {"queue_id": queue_id, **body.model_dump()}


@router.get("/status")
async def status(p: CurrentPrincipal, session: SessionDep) -> dict[str, Any]:
    """Each voice inbox's PBX link (up or down, since when, the last error), live queues, and
    the calls in flight: what a supervisor checks when phones go quiet."""
    if p.role not in access.LEADS:
        access.check_admin(p)
    links = (
        await session.execute(
            select(VoiceLink, Inbox.name)
            .join(Inbox, Inbox.id == VoiceLink.inbox_id)
            .where(VoiceLink.workspace_id == p.workspace_id)
        )
    ).all()
    stale = utcnow() - timedelta(seconds=link.LEASE_S)
    out = []
    for row, name in links:
        controller = link.controller_of(row.inbox_id)
        held = row.lease_until is not None and row.lease_until > stale
        out.append(
            {
                "inbox_id": row.inbox_id,
                "name": name,
                "up": bool(row.up and held),
                "since": row.changed_at.isoformat() if row.changed_at else None,
                "error": row.last_error if not row.up else None,
                "held": held,
                "queues": controller.queue_stats() if controller else None,
            }
        )
    in_flight = await session.scalar(
        select(VoiceCall.id)
        .where(VoiceCall.workspace_id == p.workspace_id, VoiceCall.state != CallState.ended.value)
        .limit(1)
    )
    return {
        "links": out,
        "calls_in_flight": in_flight is not None,
        "at": datetime.now(UTC).isoformat(),
    }


STATS_MAX_DAYS = 93


@router.get(
    "/stats",
    responses=refusals(
        {422: f"`until` is not after `since`, or more than {STATS_MAX_DAYS} days after it"}
    ),
)
async def stats(
    p: CurrentPrincipal,
    session: SessionDep,
    since: Annotated[DateTime, Query()],
    until: Annotated[DateTime, Query()],
    queue_id: Id | None = None,
    threshold_s: Annotated[float, Query(gt=0, le=3600)] = 20.0,
    short_abandon_s: Annotated[float, Query(ge=0, le=600)] = 5.0,
) -> dict[str, Any]:
    """Offered, answered, abandoned, service level, ASA and abandonment rate of calls that
    entered a queue in [since, until), as docs/metrics.md defines them; at most 93 days."""
    from omniline.channels.voice.stats import figures

    if p.role not in access.LEADS:
        access.check_admin(p)
    # The calls are read one by one (the same Tally as the replay): a bounded period keeps
    # that bounded. A JSON schema cannot compare two parameters: 422, in schemathesis.toml.
    if until <= since or until - since > timedelta(days=STATS_MAX_DAYS):
        raise Invalid("until", f"after since, and at most {STATS_MAX_DAYS} days later")
    return await figures(
        session,
        p.workspace_id,
        since,
        until,
        queue_id=queue_id,
        short_s=short_abandon_s,
        threshold_s=threshold_s,
    )
