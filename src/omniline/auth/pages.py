"""Login, logout and the language switch for staff browsers."""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from omniline.auth import service
from omniline.auth.deps import SESSION_COOKIE, PagePrincipal, SessionDep, client_of
from omniline.auth.login import do_sign_in
from omniline.auth.models import TokenKind, User
from omniline.auth.tokens import csrf_matches
from omniline.config import get_settings
from omniline.errors import Invalid, TooManyRequests, Unauthorized
from omniline.kit.routing import router as make_router
from omniline.web.i18n import LOCALES, gettext, negotiate
from omniline.web.templating import render

router = make_router(include_in_schema=False)

LOGIN_CSRF_COOKIE = "omniline_login_csrf"
DEMO_LOGINS = [
    {"email": "admin@demo.omniline", "password": "demo-admin", "role": "admin"},
    {"email": "supervisor@demo.omniline", "password": "demo-supervisor", "role": "supervisor"},
    {"email": "agent@demo.omniline", "password": "demo-agent", "role": "agent"},
    {"email": "agent2@demo.omniline", "password": "demo-agent", "role": "agent"},
]


def _safe_next(value: str | None) -> str:
    """Only local paths: an open redirect would help phishing."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/app"
    parts = urlsplit(value)
    return value if not parts.netloc and not parts.scheme else "/app"


def N_(message: str) -> str:
    """Marks a message for the catalogue; it is translated when the page renders."""
    return message


FORM_EXPIRED = N_("The form expired; please try again.")
WRONG_LOGIN = N_("Wrong email or password.")
LOCKED_OUT = N_("Too many sign-in attempts. Wait a few minutes, then try again.")


def _login_page(request: Request, *, error: str | None, next_: str, status: int = 200) -> Response:
    settings = get_settings()
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)
    locale = negotiate(request.headers.get("accept-language"), settings.default_locale)
    if error:
        error = gettext(locale, error)
    response = render(
        request,
        "login.html",
        {
            "csrf_token": token,
            "error": error,
            "next": next_,
            "demo_logins": DEMO_LOGINS if settings.demo_mode else [],
        },
        locale=locale,
        status_code=status,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", secure=settings.secure_cookies
    )
    return response


@router.get("/login")
async def login_form(request: Request, next: str = "") -> Response:
    return _login_page(request, error=None, next_=_safe_next(next))


@router.post("/login")
async def login_submit(request: Request, session: SessionDep) -> Response:
    settings = get_settings()
    form = await request.form()
    next_ = _safe_next(str(form.get("next") or ""))
    if not csrf_matches(request.cookies.get(LOGIN_CSRF_COOKIE, ""), str(form.get("csrf_token"))):
        return _login_page(request, error=FORM_EXPIRED, next_=next_, status=403)
    client = client_of(request)
    try:
        user: User = await do_sign_in(
            session,
            str(form.get("email") or ""),
            str(form.get("password") or ""),
            client,
            method="password",
        )
    except TooManyRequests as exc:
        response = _login_page(request, error=LOCKED_OUT, next_=next_, status=429)
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    except Unauthorized:
        return _login_page(request, error=WRONG_LOGIN, next_=next_, status=401)
    secret, _ = await service.do_issue_token(
        session,
        user,
        TokenKind.session,
        hours=settings.session_cookie_hours,
        client_ip=request.client.host if request.client else "",
        user_agent=request.headers.get("user-agent", ""),
    )
    response = RedirectResponse(next_, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        max_age=settings.session_cookie_hours * 3600,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE)
    return response


@router.post("/logout")
async def logout(request: Request, p: PagePrincipal, session: SessionDep) -> Response:
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        await service.do_revoke_token(session, cookie)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.post("/me/locale")
async def set_locale(request: Request, p: PagePrincipal, session: SessionDep) -> Response:
    form = await request.form()
    locale = str(form.get("locale") or "")
    if locale not in LOCALES:
        raise Invalid("locale", "must be one of en, ru, uk")
    user = await session.get(User, p.user_id)
    assert user is not None
    await service.do_update_user(session, user, locale=locale)
    back = _safe_next(request.headers.get("referer", "").split(request.url.netloc, 1)[-1])
    return RedirectResponse(back, status_code=303)
