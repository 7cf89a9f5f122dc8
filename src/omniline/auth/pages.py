"""Login, logout and the language switch for staff browsers."""

from __future__ import annotations

import secrets
from urllib.parse import quote, urlsplit

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from omniline.auth import service, totp
from omniline.auth.deps import SESSION_COOKIE, PagePrincipal, SessionDep, client_of
from omniline.auth.login import do_check_password, do_check_second_factor, do_record_success
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
WRONG_CODE = N_("This code is not right. Type the 6 digits the app shows now, or a recovery code.")
PENDING_COOKIE = "omniline_2fa_pending"
PENDING_SECONDS = 300
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
    form = await request.form()
    next_ = _safe_next(str(form.get("next") or ""))
    if not csrf_matches(request.cookies.get(LOGIN_CSRF_COOKIE, ""), str(form.get("csrf_token"))):
        return _login_page(request, error=FORM_EXPIRED, next_=next_, status=403)
    client = client_of(request)
    try:
        user: User = await do_check_password(
            session,
            str(form.get("email") or ""),
            str(form.get("password") or ""),
            client,
            method="password",
        )
    except TooManyRequests as exc:
        return _locked(_login_page(request, error=LOCKED_OUT, next_=next_, status=429), exc)
    except Unauthorized:
        return _login_page(request, error=WRONG_LOGIN, next_=next_, status=401)
    if user.totp_secret:
        # The password was right; the session starts only after the code (/login/code).
        response = RedirectResponse(f"/login/code?next={quote(next_)}", status_code=303)
        response.set_cookie(
            PENDING_COOKIE,
            _pending().dumps(user.id),
            max_age=PENDING_SECONDS,
            httponly=True,
            samesite="strict",
            secure=get_settings().secure_cookies,
        )
        return response
    if await totp.required_for(session, user):
        await do_record_success(session, user, client, method="password")
        return await _signed_in(request, session, user, "/me/two-factor", scope=totp.SETUP_SCOPE)
    await do_record_success(session, user, client, method="password")
    return await _signed_in(request, session, user, next_)


def _pending() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(get_settings().secret_key, salt="omniline.two-factor-pending")


def _locked(response: Response, exc: TooManyRequests) -> Response:
    response.headers["Retry-After"] = str(exc.retry_after)
    return response


async def _signed_in(
    request: Request, session: SessionDep, user: User, next_: str, *, scope: str = ""
) -> Response:
    settings = get_settings()
    client = client_of(request)
    secret, _ = await service.do_issue_token(
        session,
        user,
        TokenKind.session,
        hours=settings.session_cookie_hours,
        client_ip=client.ip,
        user_agent=client.user_agent,
        scope=scope,
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
    response.delete_cookie(PENDING_COOKIE)
    return response


async def _pending_user(request: Request, session: SessionDep) -> User | None:
    try:
        user_id = _pending().loads(request.cookies.get(PENDING_COOKIE, ""), max_age=PENDING_SECONDS)
    except (BadSignature, SignatureExpired):
        return None
    user = await session.get(User, int(user_id))
    return user if user is not None and user.active and user.totp_secret else None


def _code_page(request: Request, *, error: str | None, next_: str, status: int = 200) -> Response:
    settings = get_settings()
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)
    locale = negotiate(request.headers.get("accept-language"), settings.default_locale)
    response = render(
        request,
        "login_code.html",
        {"csrf_token": token, "error": gettext(locale, error) if error else None, "next": next_},
        locale=locale,
        status_code=status,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", secure=settings.secure_cookies
    )
    return response


@router.get("/login/code")
async def login_code_form(request: Request, session: SessionDep, next: str = "") -> Response:
    if await _pending_user(request, session) is None:
        return RedirectResponse("/login", status_code=303)
    return _code_page(request, error=None, next_=_safe_next(next))


@router.post("/login/code")
async def login_code_submit(request: Request, session: SessionDep) -> Response:
    form = await request.form()
    next_ = _safe_next(str(form.get("next") or ""))
    if not csrf_matches(request.cookies.get(LOGIN_CSRF_COOKIE, ""), str(form.get("csrf_token"))):
        return _code_page(request, error=FORM_EXPIRED, next_=next_, status=403)
    user = await _pending_user(request, session)
    if user is None:
        return RedirectResponse("/login", status_code=303)
    client = client_of(request)
    try:
        method = await do_check_second_factor(session, user, str(form.get("code") or ""), client)
    except TooManyRequests as exc:
        return _locked(_code_page(request, error=LOCKED_OUT, next_=next_, status=429), exc)
    except Unauthorized:
        return _code_page(request, error=WRONG_CODE, next_=next_, status=401)
    await do_record_success(session, user, client, method=method)
    return await _signed_in(request, session, user, next_)


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
