"""Typed request dependencies: the session, the acting staff member, the widget visitor."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.auth import service
from omniline.auth.login import Client
from omniline.auth.models import TokenKind
from omniline.auth.principal import Principal, Visitor
from omniline.auth.tokens import csrf_for, csrf_matches, read_visitor_token
from omniline.config import get_settings
from omniline.db import sessionmaker
from omniline.errors import DomainError, Forbidden, TwoFactorSetupRequired, Unauthorized

SESSION_COOKIE = "omniline_session"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def client_of(request: Request) -> Client:
    """The client address (as the ASGI server saw it, after its proxy-header handling) and
    browser, for throttling, the sessions list and the audit log."""
    host = request.client.host if request.client else ""
    return Client(host, request.headers.get("user-agent", ""))


async def get_session(request: Request) -> AsyncSession:
    session: AsyncSession | None = request.state._state.get("db")
    if session is None:
        session = sessionmaker()()
        request.state.db = session
    return session


SessionDep = Annotated[AsyncSession, Depends(get_session)]


def bearer_of(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


async def _principal(request: Request, session: AsyncSession) -> Principal:
    bearer = bearer_of(request)
    if bearer:
        return await service.principal_from_token(
            session, bearer, (TokenKind.access, TokenKind.api)
        )
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        raise Unauthorized("sign in first: send a bearer token or a session cookie")
    principal = await service.principal_from_token(session, cookie, (TokenKind.session,))
    if request.method not in SAFE_METHODS:
        expected = csrf_for(get_settings().secret_key, cookie)
        given = request.headers.get("x-csrf-token")
        if given is None and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")
        ):
            given = str((await request.form()).get("csrf_token") or "")
        if not csrf_matches(expected, given):
            raise Forbidden("the CSRF token is missing or wrong; reload the page")
    return principal


# What a session that may only set up two-factor sign-in can reach.
SETUP_PATHS = ("/me/two-factor", "/logout", "/me/locale")


async def current_principal(request: Request, session: SessionDep) -> Principal:
    principal = await _principal(request, session)
    if principal.setup_only and not request.url.path.startswith(SETUP_PATHS):
        raise TwoFactorSetupRequired("set up two-factor sign-in first, on /me/two-factor")
    request.state.principal = principal
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


async def reporting_principal(request: Request, session: SessionDep) -> Principal:
    """The BI endpoints: a bearer token, reporting tokens included (which every other route
    refuses, since ``current_principal`` does not accept their kind)."""
    bearer = bearer_of(request)
    if not bearer:
        raise Unauthorized("send a reporting token as 'Authorization: Bearer <token>'")
    principal = await service.principal_from_token(
        session, bearer, (TokenKind.reporting, TokenKind.access, TokenKind.api)
    )
    request.state.principal = principal
    return principal


ReportingPrincipal = Annotated[Principal, Depends(reporting_principal)]


class LoginRequired(DomainError):
    """Raised by pages (not the API): the handler redirects to the login page."""

    status = 303
    code = "login_required"
    target: str | None = None


class TwoFactorSetupRedirect(LoginRequired):
    """Raised by pages: the user must set up two-factor sign-in before anything else."""

    target = "/me/two-factor"


async def page_principal(request: Request, session: SessionDep) -> Principal:
    try:
        return await current_principal(request, session)
    except Unauthorized as exc:
        raise LoginRequired("sign in first") from exc
    except TwoFactorSetupRequired as exc:
        raise TwoFactorSetupRedirect(exc.message) from exc


PagePrincipal = Annotated[Principal, Depends(page_principal)]


async def current_visitor(request: Request) -> Visitor:
    # async: FastAPI would run a plain def in a worker thread, a hand-off per request.
    token = bearer_of(request) or request.query_params.get("token")
    if not token:
        raise Unauthorized("send the widget session token as 'Authorization: Bearer <token>'")
    settings = get_settings()
    return read_visitor_token(settings.secret_key, token, settings.widget_session_days * 86400)


CurrentVisitor = Annotated[Visitor, Depends(current_visitor)]
