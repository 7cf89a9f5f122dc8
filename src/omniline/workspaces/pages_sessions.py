"""My sessions: where I am signed in, ending one of them, or all ("log out everywhere")."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from omniline.auth import sessions
from omniline.auth.deps import SESSION_COOKIE, PagePrincipal, SessionDep
from omniline.kit.ids import Id
from omniline.workspaces.pages_common import admin_router, page, when

router = admin_router()


@router.get("/me/sessions")
async def my_sessions(request: Request, p: PagePrincipal, session: SessionDep) -> Response:
    live = await sessions.sessions_of(session, p, p.user_id)
    rows = [
        {
            "id": s.id,
            "kind": s.kind,
            "created": when(s.created_at),
            "last_used": when(s.last_used_at),
            "client_ip": s.client_ip,
            "user_agent": s.user_agent,
            "current": s.current,
        }
        for s in live
    ]
    return page(request, p, "account_sessions.html", sessions=rows)


@router.post("/me/sessions/{session_id:int}/end")
async def end_session(session_id: Id, p: PagePrincipal, session: SessionDep) -> Response:
    await sessions.do_end_session(session, p, p.user_id, session_id)
    if session_id == p.token_id:
        return _signed_out()
    return RedirectResponse("/me/sessions", status_code=303)


@router.post("/me/logout-everywhere")
async def logout_everywhere(p: PagePrincipal, session: SessionDep) -> Response:
    await sessions.do_end_all(session, p, p.user_id)
    return _signed_out()


def _signed_out() -> Response:
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response
