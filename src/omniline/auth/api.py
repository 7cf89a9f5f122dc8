from __future__ import annotations

from typing import Any

from fastapi import Request, Response

from omniline.auth import service, sessions, totp
from omniline.auth.deps import CurrentPrincipal, SessionDep, client_of
from omniline.auth.login import do_check_password, do_check_second_factor, do_record_success
from omniline.auth.models import TokenKind
from omniline.auth.schemas import LoginIn, LoginOut, UserOut
from omniline.config import get_settings
from omniline.errors import TwoFactorRequired, TwoFactorSetupRequired
from omniline.kit.clock import iso
from omniline.kit.ids import Id
from omniline.kit.routing import router as make_router

router = make_router(prefix="/api/v1", tags=["auth"])


@router.post("/auth/login", response_model=LoginOut)
async def login(body: LoginIn, request: Request, session: SessionDep) -> dict[str, Any]:
    client = client_of(request)
    user = await do_check_password(session, body.email, body.password, client, method="api")
    method = "api"
    if user.totp_secret:
        if not body.otp:
            raise TwoFactorRequired("send the code from the authenticator app as 'otp'")
        method = await do_check_second_factor(session, user, body.otp, client)
    elif await totp.required_for(session, user):
        raise TwoFactorSetupRequired(
            "your role requires two-factor sign-in: sign in to the web workspace once to set it up"
        )
    await do_record_success(session, user, client, method=method)
    secret, token = await service.do_issue_token(
        session,
        user,
        TokenKind.access,
        hours=get_settings().access_token_hours,
        client_ip=request.client.host if request.client else "",
        user_agent=request.headers.get("user-agent", ""),
    )
    return {
        "access_token": secret,
        "token_type": "bearer",
        "expires_at": iso(token.expires_at),
        "user": UserOut.model_validate(user, from_attributes=True).model_dump(),
    }


@router.get("/me", response_model=UserOut)
async def me(p: CurrentPrincipal) -> dict[str, Any]:
    return {
        "id": p.user_id,
        "email": p.email,
        "name": p.name,
        "role": p.role,
        "locale": p.locale,
        "workspace_id": p.workspace_id,
    }


def _session_view(v: sessions.SessionView) -> dict[str, Any]:
    return {
        "id": v.id,
        "kind": v.kind,
        "created_at": iso(v.created_at),
        "last_used_at": iso(v.last_used_at) if v.last_used_at else None,
        "expires_at": iso(v.expires_at) if v.expires_at else None,
        "client_ip": v.client_ip,
        "user_agent": v.user_agent,
        "current": v.current,
    }


@router.get("/auth/sessions")
async def my_sessions(p: CurrentPrincipal, session: SessionDep) -> dict[str, Any]:
    """The caller's signed-in browsers and apps (bearer tokens from /auth/login)."""
    return {"items": [_session_view(v) for v in await sessions.sessions_of(session, p, p.user_id)]}


@router.delete("/auth/sessions/{session_id}", status_code=204)
async def end_my_session(session_id: Id, p: CurrentPrincipal, session: SessionDep) -> Response:
    await sessions.do_end_session(session, p, p.user_id, session_id)
    return Response(status_code=204)


@router.post("/auth/logout-everywhere", status_code=204)
async def logout_everywhere(p: CurrentPrincipal, session: SessionDep) -> Response:
    """Ends every session of the caller, this one included (integration tokens stay)."""
    await sessions.do_end_all(session, p, p.user_id)
    return Response(status_code=204)


@router.get("/users/{user_id}/sessions")
async def user_sessions(user_id: Id, p: CurrentPrincipal, session: SessionDep) -> dict[str, Any]:
    """An admin's view of a colleague's sessions (one's own without being admin)."""
    return {"items": [_session_view(v) for v in await sessions.sessions_of(session, p, user_id)]}


@router.delete("/users/{user_id}/sessions/{session_id}", status_code=204)
async def end_user_session(
    user_id: Id, session_id: Id, p: CurrentPrincipal, session: SessionDep
) -> Response:
    await sessions.do_end_session(session, p, user_id, session_id)
    return Response(status_code=204)


@router.post("/users/{user_id}/logout-everywhere", status_code=204)
async def user_logout_everywhere(user_id: Id, p: CurrentPrincipal, session: SessionDep) -> Response:
    await sessions.do_end_all(session, p, user_id)
    return Response(status_code=204)
