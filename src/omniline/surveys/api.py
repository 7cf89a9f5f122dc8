"""Surveys API (docs/api.md): settings (admins), answers (supervisors, admins), the send
API (admins and integration tokens of admins), and the widget's answer (the visitor)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query

from omniline.auth import access
from omniline.auth.deps import CurrentPrincipal, CurrentVisitor, SessionDep
from omniline.errors import Invalid, NotFound
from omniline.kit.fields import DateTime
from omniline.kit.ids import MAX_ID, Id
from omniline.kit.routing import router as make_router
from omniline.surveys import repository, service
from omniline.surveys.models import SurveyRequest
from omniline.surveys.schemas import (
    Kind,
    SendIn,
    SettingIn,
    WidgetSurveyIn,
    answer_view,
    request_view,
    setting_view,
)

router = make_router(tags=["surveys"])


@router.get("/api/v1/surveys/settings")
async def list_settings(p: CurrentPrincipal, session: SessionDep) -> dict[str, Any]:
    """Every inbox's survey settings (an inbox never configured: disabled defaults)."""
    access.check_admin(p)
    return {"items": [setting_view(s) for s in await service.settings_of(session, p.workspace_id)]}


@router.get("/api/v1/surveys/settings/{inbox_id:int}")
async def get_setting(inbox_id: Id, p: CurrentPrincipal, session: SessionDep) -> dict[str, Any]:
    access.check_admin(p)
    return setting_view(await service.setting_of(session, p.workspace_id, inbox_id))


@router.put("/api/v1/surveys/settings/{inbox_id:int}")
async def put_setting(
    inbox_id: Id, body: SettingIn, p: CurrentPrincipal, session: SessionDep
) -> dict[str, Any]:
    access.check_admin(p)
    setting = await service.do_save_setting(session, p.workspace_id, inbox_id, body.data())
    return setting_view(setting)


@router.get("/api/v1/surveys/answers")
async def list_answers(
    p: CurrentPrincipal,
    session: SessionDep,
    since: DateTime | None = None,
    until: DateTime | None = None,
    inbox_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    agent_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    kind: Kind | None = None,
    before_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    """Newest first. Page on with ``before_id`` = the answer's ``next_before_id``."""
    access.check_may_read_surveys(p)
    for name, value in (("since", since), ("until", until)):
        if value is not None and value.tzinfo is None:
            raise Invalid(name, "give a time zone, e.g. 2026-01-31T00:00:00Z")
    filters = repository.Filters(
        since=since,
        until=until,
        inbox_id=inbox_id,
        agent_id=agent_id,
        kind=kind,
        before_id=before_id,
    )
    rows = await repository.answers(session, p, filters, limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return {
        "items": [answer_view(a) for a in rows],
        "next_before_id": rows[-1].id if more and rows else None,
    }


@router.post("/api/v1/surveys/send", status_code=201)
async def send_survey(body: SendIn, p: CurrentPrincipal, session: SessionDep) -> dict[str, Any]:
    """A survey for another occasion (``trigger``), in the contact's last channel."""
    access.check_admin(p)
    req = await service.do_send(
        session,
        p.workspace_id,
        trigger=body.trigger,
        conversation_id=body.conversation_id,
        contact_id=body.contact_id,
        inbox_id=body.inbox_id,
        agent_id=body.agent_id,
        branch=body.branch,
    )
    return request_view(req)


@router.post("/api/v1/widget/survey")
async def widget_answer(
    body: WidgetSurveyIn, visitor: CurrentVisitor, session: SessionDep
) -> dict[str, Any]:
    """The visitor's score (once) and, with it or later, a comment (once)."""
    req = await session.get(SurveyRequest, body.request_id)
    if req is None or req.contact_id != visitor.contact_id or req.inbox_id != visitor.inbox_id:
        raise NotFound("no such survey")
    if body.score is None and body.comment is None:
        raise Invalid("score", "give a score, a comment or both")
    if body.score is not None:
        answer = await service.do_answer(session, req, body.score, body.comment)
    else:
        answer = await service.do_add_comment(session, req, body.comment or "")
    return {
        "request_id": req.id,
        "kind": req.kind,
        "score": answer.score,
        "comment": answer.comment,
    }
