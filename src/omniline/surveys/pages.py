"""The email survey's rating page, ``/rate/<signed token>``: no login, no JavaScript needed.

Each score in the mail is a link (``?score=N``) that records the score at once and then
offers the comment; the page itself is a form (scores as radio buttons, a comment box).
The signed token in the address is what a forged cross-site post would have to know, so
it is the page's CSRF protection as well; the request's own status and expiry decide
whether anything may still be recorded (one score, then one comment).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.responses import Response

from omniline.auth.deps import SessionDep
from omniline.errors import Conflict, DomainError
from omniline.kit.clock import utcnow
from omniline.kit.routing import router as make_router
from omniline.surveys import links, service, texts
from omniline.surveys.models import SurveyRequest
from omniline.web.i18n import LOCALES, negotiate
from omniline.web.templating import render

router = make_router(include_in_schema=False)
TEMPLATE = "survey_rate.html"


def _locale(request: Request, req: SurveyRequest | None) -> str:
    if req is not None and req.language in LOCALES:
        return req.language
    return negotiate(request.headers.get("accept-language"), "en")


async def _request(session: Any, token: str) -> SurveyRequest | None:
    request_id = links.request_id_of(token)
    return await session.get(SurveyRequest, request_id) if request_id is not None else None


async def _show(
    request: Request,
    session: Any,
    req: SurveyRequest | None,
    *,
    state: str,
    error: str = "",
    status_code: int = 200,
) -> Response:
    locale = _locale(request, req)
    context: dict[str, Any] = {"state": state, "error": error}
    if req is not None:
        setting = await service.setting_of(session, req.workspace_id, req.inbox_id)
        low, high = service.SCALES[req.kind]
        answer = await service.answer_of(session, req)
        context.update(
            said=texts.texts_for(req.kind, setting.texts or {}, req.language),
            scores=list(range(low, high + 1)),
            kind=req.kind,
            answer=answer,
            ask_comment=bool(setting.ask_comment),
            action=f"/rate/{links.token_for(req.id)}",
        )
    response = render(request, TEMPLATE, context, locale=locale, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _state(req: SurveyRequest, answered: bool) -> str:
    if answered:
        return "answered"
    if req.status != "sent" or req.expires_at <= utcnow():
        return "expired"
    return "open"


@router.get("/rate/{token}")
async def rate_page(
    token: str,
    request: Request,
    session: SessionDep,
    score: Annotated[int | None, Query(ge=0, le=10)] = None,
) -> Response:
    req = await _request(session, token)
    if req is None:
        return await _show(request, session, None, state="invalid", status_code=404)
    answered = await service.answer_of(session, req) is not None
    if score is not None and not answered:
        try:
            await service.do_answer(session, req, score)
            return await _show(request, session, req, state="answered")
        except DomainError:
            pass  # an out-of-range score in a hand-made link: show the form
    return await _show(request, session, req, state=_state(req, answered))


@router.post("/rate/{token}")
async def rate_submit(token: str, request: Request, session: SessionDep) -> Response:
    req = await _request(session, token)
    if req is None:
        return await _show(request, session, None, state="invalid", status_code=404)
    form = await request.form()
    raw_score = str(form.get("score") or "").strip()
    comment = str(form.get("comment") or "")[:2000]
    answered = await service.answer_of(session, req) is not None
    try:
        if not answered:
            if not raw_score.isdigit():
                return await _show(
                    request, session, req, state="open", error="score", status_code=422
                )
            await service.do_answer(session, req, int(raw_score[:2]), comment)
        elif comment.strip():
            await service.do_add_comment(session, req, comment)
        else:
            raise Conflict("nothing to add")
    except DomainError:
        state = _state(req, await service.answer_of(session, req) is not None)
        return await _show(request, session, req, state=state, error="refused", status_code=409)
    return await _show(request, session, req, state="thanks")
