"""What every admin page shares: the admin-only dependency, rendering, forms and flashes.

Admin pages are HTML all the way: a refused or missing thing renders an HTML error
page (never the API's JSON), and a refused form re-renders itself with the message
next to its field.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Annotated, Any, TypeVar
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from omniline.auth import access
from omniline.auth.deps import LoginRequired, PagePrincipal
from omniline.auth.principal import Principal
from omniline.config import get_settings
from omniline.errors import DomainError, Invalid, NotFound
from omniline.kit.ids import MAX_ID, SMALL_MAX
from omniline.kit.routing import UnitOfWorkRoute
from omniline.web.context import staff_context
from omniline.web.i18n import negotiate
from omniline.web.templating import render

# Codes a redirect may carry in ``?ok=`` / ``?error=``; admin/_flash.html words them.
# Only known codes are shown, so a crafted link cannot put its own text on the page.
OK_CODES = frozenset(
    {
        "user_created", "user_saved", "password_reset", "team_created", "team_saved",
        "queue_created", "queue_saved", "inbox_created", "inbox_saved", "token_revoked",
        "job_retried", "signed_out", "two_factor_saved", "two_factor_reset",
    }
)  # fmt: skip
ERROR_CODES = frozenset({"not_found", "job_not_failed"})
T = TypeVar("T")


class AdminPageRoute(UnitOfWorkRoute):
    """A unit of work whose refusals are HTML pages rather than JSON bodies."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def run(request: Request) -> Response:
            try:
                return await handler(request)
            except LoginRequired:
                raise
            except DomainError as exc:  # the unit of work has rolled back already
                return error_page(request, exc.status, exc.message)
            except RequestValidationError:  # e.g. /admin/users/abc
                return error_page(request, 404, "no such page")

        return run


def admin_router() -> APIRouter:
    return APIRouter(route_class=AdminPageRoute, include_in_schema=False)


async def admin_principal(p: PagePrincipal) -> Principal:
    access.check_admin(p)
    return p


AdminPrincipal = Annotated[Principal, Depends(admin_principal)]


def _no_store(response: Response) -> Response:
    # Admin pages show secrets (identity secrets, new API tokens): keep them out of caches.
    response.headers["Cache-Control"] = "no-store"
    return response


def error_page(request: Request, status: int, message: str) -> Response:
    p: Principal | None = getattr(request.state, "principal", None)
    if p is not None:
        ctx, locale = staff_context(request, p), p.locale
    else:
        ctx = {}
        locale = negotiate(request.headers.get("accept-language"), get_settings().default_locale)
    ctx.update(status=status, message=message)
    response = render(request, "admin/error.html", ctx, locale=locale, status_code=status)
    return _no_store(response)


def page(
    request: Request, p: Principal, template: str, *, status: int = 200, **context: Any
) -> HTMLResponse:
    """Render an admin template with the staff context and the flash from the query string."""
    ctx = staff_context(request, p)
    ok = request.query_params.get("ok")
    error = request.query_params.get("error")
    ctx.update(
        flash_ok=ok if ok in OK_CODES else None,
        flash_error=error if error in ERROR_CODES else None,
        errors={},
        form={},
    )
    ctx.update(context)
    response = render(request, template, ctx, locale=p.locale, status_code=status)
    _no_store(response)
    return response


def redirect(path: str, *, ok: str | None = None, error: str | None = None) -> RedirectResponse:
    """Post/Redirect/Get: 303 to a page, with a flash code it knows how to word."""
    assert ok is None or ok in OK_CODES, ok
    assert error is None or error in ERROR_CODES, error
    query = urlencode({k: v for k, v in (("ok", ok), ("error", error)) if v})
    return RedirectResponse(f"{path}?{query}" if query else path, status_code=303)


def field_errors(exc: DomainError, field: str) -> dict[str, str]:
    """Messages by form field; an error that names no field belongs to ``field``."""
    if exc.fields:
        return {f["field"]: f["message"] for f in exc.fields}
    return {field: exc.message}


def form_status(exc: DomainError) -> int:
    """The status of a refused form: a chosen thing that vanished is a form error, not a 404."""
    return 422 if isinstance(exc, NotFound) else exc.status


def text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def checked(form: FormData, name: str) -> bool:
    return text(form, name) in ("1", "on", "true")


def optional_id(form: FormData, name: str) -> int | None:
    """An id from a <select> whose empty option means "none"."""
    raw = text(form, name).strip()
    if not raw:
        return None
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_ID:
        raise Invalid(name, "choose one of the options")
    return int(raw)


def ids(form: FormData, name: str) -> list[int]:
    """Ids from a group of checkboxes."""
    values = [v for v in form.getlist(name) if isinstance(v, str)]
    if not all(v.isdigit() and 1 <= int(v) <= MAX_ID for v in values):
        raise Invalid(name, "choose from the list")
    return sorted({int(v) for v in values})


def whole_number(form: FormData, name: str, default: int = 0) -> int:
    raw = text(form, name).strip()
    if not raw:
        return default
    try:
        number = int(raw)
    except ValueError:
        raise Invalid(name, "must be a whole number") from None
    if abs(number) > SMALL_MAX:
        raise Invalid(name, f"must be at most {SMALL_MAX}")
    return number


def found(thing: T | None, what: str) -> T:
    if thing is None:
        raise NotFound(f"no such {what}")
    return thing


def when(dt: datetime | None) -> str:
    """A stored (UTC) time as admins read it; empty for never."""
    return dt.strftime("%Y-%m-%d %H:%M UTC") if dt is not None else ""
