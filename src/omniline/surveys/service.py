"""Surveys: settings, requests and answers (the ``do_*`` actions; no HTTP here).

A request is created in the transaction of its occasion (a resolve, or the send API) and
its sending is a ``survey_send`` job written in that same transaction (surveys/jobs.py):
nothing is lost between the two, and a failed send is retried by the job runner.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.contacts import repository as contacts
from omniline.conversations import notify
from omniline.conversations.models import AuthorType, Conversation
from omniline.conversations.records import Actor, _add_event
from omniline.errors import Conflict, Invalid, NoSuch, NotFound
from omniline.inboxes.models import Inbox
from omniline.jobs import service as jobs
from omniline.kit.clock import utcnow
from omniline.surveys import texts
from omniline.surveys.models import SurveyAnswer, SurveyRequest, SurveySetting
from omniline.workspaces.models import Workspace

SCALES = {"csat": (1, 5), "nps": (0, 10)}
CUSTOMER = Actor(AuthorType.contact.value, None, "")
# The phone asks its own question after a call (channels/voice/answering.py).
UNSENDABLE = frozenset({"voice"})


def check_score(kind: str, score: int) -> None:
    low, high = SCALES.get(kind, (None, None))
    if low is None or high is None:
        raise Invalid("kind", "must be csat or nps")
    if not low <= score <= high:
        raise Invalid("score", f"must be from {low} to {high}")


async def record_answer(
    session: AsyncSession,
    conv: Conversation,
    *,
    agent_id: int | None,
    kind: str,
    score: int,
    comment: str | None = None,
    request: SurveyRequest | None = None,
) -> SurveyAnswer:
    """The answer, or the one already given (a repeated digit or form changes nothing)."""
    check_score(kind, score)
    trigger = request.trigger if request is not None else "resolved"
    found = await session.scalar(
        select(SurveyAnswer).where(
            SurveyAnswer.conversation_id == conv.id,
            SurveyAnswer.kind == kind,
            SurveyAnswer.trigger == trigger,
        )
    )
    if found is not None:
        return found
    answer = SurveyAnswer(
        workspace_id=conv.workspace_id,
        conversation_id=conv.id,
        agent_id=agent_id if agent_id is not None else conv.assignee_id,
        channel=request.channel if request is not None else conv.channel,
        kind=kind,
        score=score,
        comment=_comment(comment),
        request_id=request.id if request is not None else None,
        trigger=trigger,
        language=request.language if request is not None else conv.language,
        inbox_id=request.inbox_id if request is not None else conv.inbox_id,
    )
    session.add(answer)
    await session.flush()
    return answer


def _comment(text: str | None) -> str | None:
    return (text or "").strip()[:2000] or None


# -- settings ---------------------------------------------------------------------------


async def setting_of(session: AsyncSession, workspace_id: int, inbox_id: int) -> SurveySetting:
    """The inbox's settings; an inbox never configured gets a disabled default (not stored)."""
    inbox = await session.get(Inbox, inbox_id)
    if inbox is None or inbox.workspace_id != workspace_id:
        raise NotFound("no such inbox")
    found = await session.scalar(select(SurveySetting).where(SurveySetting.inbox_id == inbox_id))
    if found is not None:
        return found
    return SurveySetting(
        workspace_id=workspace_id,
        inbox_id=inbox_id,
        enabled=False,
        kind="csat",
        ask_comment=True,
        delay_minutes=0,
        expiry_hours=72,
        bot_only=False,
        texts={},
    )


async def settings_of(session: AsyncSession, workspace_id: int) -> list[SurveySetting]:
    ids = await session.scalars(
        select(Inbox.id).where(Inbox.workspace_id == workspace_id).order_by(Inbox.id)
    )
    return [await setting_of(session, workspace_id, i) for i in ids]


async def do_save_setting(
    session: AsyncSession, workspace_id: int, inbox_id: int, data: dict[str, Any]
) -> SurveySetting:
    setting = await setting_of(session, workspace_id, inbox_id)
    for key, value in data.items():
        setattr(setting, key, value)
    if setting.id is None:
        session.add(setting)
    await session.flush()
    return setting


# -- requests ---------------------------------------------------------------------------


async def _language(session: AsyncSession, conv: Conversation) -> str:
    contact = await contacts.get(session, conv.workspace_id, conv.contact_id)
    workspace = await session.get(Workspace, conv.workspace_id)
    return texts.language_of(
        [
            conv.language,
            contact.language if contact else None,
            workspace.default_locale if workspace else None,
        ]
    )


async def request_of(session: AsyncSession, conv_id: int, trigger: str) -> SurveyRequest | None:
    return await session.scalar(
        select(SurveyRequest).where(
            SurveyRequest.conversation_id == conv_id, SurveyRequest.trigger == trigger
        )
    )


async def do_create_request(
    session: AsyncSession,
    conv: Conversation,
    setting: SurveySetting,
    *,
    trigger: str = "resolved",
    agent_id: int | None = None,
    branch: str | None = None,
) -> SurveyRequest | None:
    """A request and its sending job; None when this occasion already has one."""
    if await request_of(session, conv.id, trigger) is not None:
        return None
    now = utcnow()
    send_at = now + timedelta(minutes=setting.delay_minutes)
    req = SurveyRequest(
        workspace_id=conv.workspace_id,
        conversation_id=conv.id,
        contact_id=conv.contact_id,
        inbox_id=conv.inbox_id,
        agent_id=agent_id if agent_id is not None else conv.assignee_id,
        channel=conv.channel,
        kind=setting.kind,
        trigger=trigger,
        branch=branch,
        language=await _language(session, conv),
        status="pending",
        expires_at=send_at + timedelta(hours=setting.expiry_hours),
    )
    session.add(req)
    await session.flush()
    await jobs.enqueue(
        session,
        "survey_send",
        {"request_id": req.id},
        run_at=send_at,
        workspace_id=conv.workspace_id,
    )
    return req


async def do_resend_pending(
    session: AsyncSession, conv: Conversation, setting: SurveySetting
) -> None:
    """A resolve request still unsent (held back by a reopen) is scheduled again, for the
    agent who resolved it this time."""
    req = await request_of(session, conv.id, "resolved")
    if req is None or req.status != "pending":
        return
    send_at = utcnow() + timedelta(minutes=setting.delay_minutes)
    req.agent_id = conv.assignee_id if conv.assignee_id is not None else req.agent_id
    req.expires_at = send_at + timedelta(hours=setting.expiry_hours)
    await jobs.enqueue(
        session,
        "survey_send",
        {"request_id": req.id},
        run_at=send_at,
        workspace_id=conv.workspace_id,
    )


async def do_send(
    session: AsyncSession,
    workspace_id: int,
    *,
    trigger: str,
    conversation_id: int | None,
    contact_id: int | None,
    inbox_id: int | None,
    agent_id: int | None,
    branch: str | None,
) -> SurveyRequest:
    """A survey for an occasion other than a resolve (a branch visit), through the API.

    Asked in the given conversation, or in the contact's latest conversation (in the given
    inbox when there is one): its channel is the contact's last channel.
    """
    conv = await _target(session, workspace_id, conversation_id, contact_id, inbox_id)
    if conv.channel in UNSENDABLE:
        # The request is right; the conversation it names is of a kind a survey cannot reach.
        raise Conflict(
            "conversation_id: a phone conversation cannot be sent a survey",
            fields=[{"field": "conversation_id", "message": "a phone conversation"}],
        )
    setting = await setting_of(session, workspace_id, conv.inbox_id)
    if agent_id is not None:
        from omniline.auth.models import User

        user = await session.get(User, agent_id)
        if user is None or user.workspace_id != workspace_id:
            raise NoSuch("agent_id", "no such agent")
    req = await do_create_request(
        session, conv, setting, trigger=trigger, agent_id=agent_id, branch=branch
    )
    if req is None:
        raise Conflict(f"this conversation was already sent the survey '{trigger}'")
    return req


async def _target(
    session: AsyncSession,
    workspace_id: int,
    conversation_id: int | None,
    contact_id: int | None,
    inbox_id: int | None,
) -> Conversation:
    if conversation_id is not None:
        conv = await session.get(Conversation, conversation_id)
        if conv is None or conv.workspace_id != workspace_id:
            raise NotFound("no such conversation")
        return conv
    if contact_id is None:
        raise Invalid("contact_id", "give a contact_id or a conversation_id")  # the anyOf
    query = select(Conversation).where(
        Conversation.workspace_id == workspace_id,
        Conversation.contact_id == contact_id,
        Conversation.channel.not_in(UNSENDABLE),
    )
    if inbox_id is not None:
        query = query.where(Conversation.inbox_id == inbox_id)
    conv = await session.scalar(query.order_by(Conversation.last_activity_at.desc()).limit(1))
    if conv is None:
        raise NotFound("the contact has no conversation in a channel a survey can be sent to")
    return conv


# -- answers ----------------------------------------------------------------------------


async def pending_request(
    session: AsyncSession, inbox_id: int, contact_id: int
) -> SurveyRequest | None:
    """The customer's latest survey that is sent, not answered and not expired."""
    req = await session.scalar(
        select(SurveyRequest)
        .where(
            SurveyRequest.inbox_id == inbox_id,
            SurveyRequest.contact_id == contact_id,
            SurveyRequest.status == "sent",
        )
        .order_by(SurveyRequest.id.desc())
        .limit(1)
    )
    if req is None or req.expires_at <= utcnow():
        return None
    return req


def check_open(req: SurveyRequest) -> None:
    if req.status == "answered":
        raise Conflict("this survey is already answered")
    if req.status != "sent" or req.expires_at <= utcnow():
        raise Conflict("this survey has expired")


async def do_answer(
    session: AsyncSession, req: SurveyRequest, score: int, comment: str | None = None
) -> SurveyAnswer:
    """Store the customer's score (once); the request is then answered."""
    check_open(req)
    check_score(req.kind, score)
    conv = await session.get(Conversation, req.conversation_id)
    if conv is None:
        raise NotFound("the conversation no longer exists")
    answer = await record_answer(
        session,
        conv,
        agent_id=req.agent_id,
        kind=req.kind,
        score=score,
        comment=comment,
        request=req,
    )
    req.status = "answered"
    req.answered_at = utcnow()
    data: dict[str, object] = {
        "kind": req.kind,
        "score": answer.score,
        "agent_id": req.agent_id,
        "trigger": req.trigger,
        "request_id": req.id,
    }
    ev = _add_event(session, conv, "survey_answered", CUSTOMER, data)
    await session.flush()
    notify.timeline_event(session, conv, ev)
    return answer


async def answer_of(session: AsyncSession, req: SurveyRequest) -> SurveyAnswer | None:
    return await session.scalar(select(SurveyAnswer).where(SurveyAnswer.request_id == req.id))


async def do_add_comment(session: AsyncSession, req: SurveyRequest, comment: str) -> SurveyAnswer:
    """The comment after the score, once; within the survey's expiry."""
    answer = await answer_of(session, req)
    if answer is None:
        raise Conflict("give a score first")
    if answer.comment is not None:
        raise Conflict("a comment was already added")
    if req.expires_at <= utcnow():
        raise Conflict("this survey has expired")
    text = _comment(comment)
    if text is None:
        raise Invalid("comment", "must not be empty")
    answer.comment = text
    await session.flush()
    return answer
