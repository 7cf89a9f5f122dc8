"""Application wiring: routers, error handlers, start-up and shutdown."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from omniline import __version__, db
from omniline.audit.context import AuditContext
from omniline.auth.deps import LoginRequired
from omniline.config import Settings, get_settings, set_settings
from omniline.errors import DomainError
from omniline.kit import log_redaction, openapi
from omniline.kit.allowed_methods import allowed_methods
from omniline.kit.security_headers import SecurityHeaders
from omniline.ops.request_context import RequestContext
from omniline.wiring import include_routers, register_all

log = logging.getLogger("omniline")

STATIC = Path(__file__).resolve().parent / "web" / "static"
HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "too_many_requests",
}


def _field_name(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "cookie")]
    return ".".join(parts) or "body"


def _validation_response(exc: RequestValidationError) -> JSONResponse:
    fields = []
    for err in exc.errors():
        name = _field_name(tuple(err.get("loc", ())))
        msg = str(err.get("msg", "is not valid"))
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
        if err.get("type") == "json_invalid":
            return JSONResponse(
                {"error": {"code": "bad_request", "message": "the body is not valid JSON"}},
                status_code=400,
            )
        fields.append({"field": name, "message": msg})
    message = "; ".join(f"{f['field']}: {f['message']}" for f in fields) or "invalid request"
    return JSONResponse(
        {"error": {"code": "validation_error", "message": message, "fields": fields}},
        status_code=422,
    )


async def _check_secrets_readable() -> None:
    """Refuse to start when the encryption keys cannot read the stored channel secrets."""
    from omniline.inboxes.secrets import check_readable
    from omniline.kit.encryption import SecretsUnreadable

    try:
        async with db.sessionmaker()() as session:
            await check_readable(session)
    except SecretsUnreadable as exc:
        log.critical("%s", exc)
        raise
    except Exception as exc:  # the database is down: start anyway, requests answer 503
        log.warning("could not check the stored channel secrets at start: %s", exc)


def create_app(settings: Settings | None = None) -> FastAPI:
    if settings is not None:
        set_settings(settings)
    settings = get_settings()
    log_redaction.install()
    register_all()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from omniline.auth.session_watch import SessionWatch
        from omniline.auth.throttle import init_throttle
        from omniline.conversations.ingest import reset_batcher
        from omniline.jobs.runner import Runner
        from omniline.kit.background import Background
        from omniline.kit.http import close_http_client
        from omniline.realtime.service import init_realtime

        db.init_engine(settings)
        await _check_secrets_readable()
        realtime = init_realtime(settings.redis_url, settings.realtime_buffer)
        await realtime.start()
        from omniline.wallboard import feed as wallboard_feed

        wallboard = wallboard_feed.install(realtime)
        init_throttle(settings)
        watch = SessionWatch(realtime.hub, settings.session_check_seconds)
        watch.start()
        runner = None
        background = Background()
        if settings.run_jobs:
            runner = Runner()
            runner.start()
            background.start()
        if settings.demo_mode:
            log.warning("DEMO MODE: demo logins are enabled; never run it on real data")
        try:
            yield
        finally:
            await watch.stop()
            await wallboard.stop()
            await background.stop()
            if runner is not None:
                await runner.stop()
            await reset_batcher()
            await close_http_client()
            await realtime.stop()
            await db.dispose_engine()

    app = FastAPI(
        title="Omniline",
        version=__version__,
        description="Omnichannel contact centre API. See docs/api.md.",
        lifespan=lifespan,
    )

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired) -> Response:
        if exc.target:
            return RedirectResponse(exc.target, status_code=303)
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)

    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> Response:
        return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers() or None)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        return _validation_response(exc)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        code = HTTP_CODES.get(exc.status_code, "error")
        message = exc.detail if isinstance(exc.detail, str) else code
        headers = dict(getattr(exc, "headers", None) or {})
        if exc.status_code == 404 and message == "Not Found":
            message = "no such page or endpoint"
        if exc.status_code == 405:
            # The router names the methods of the first route it tried; a path served by
            # several routes (GET here, PUT there) allows all of theirs.
            allowed = allowed_methods(request.app, request.scope)
            headers["Allow"] = ", ".join(sorted(allowed))
            message = f"this endpoint allows {', '.join(sorted(allowed))}"
        return JSONResponse(
            {"error": {"code": code, "message": message}},
            status_code=exc.status_code,
            headers=headers or None,
        )

    # Unexpected errors become a 500 inside SecurityHeaders (kit/security_headers.py), so the
    # answer carries the same headers as any other and the traceback is logged once.
    app.add_middleware(SecurityHeaders, hsts=settings.secure_cookies)
    app.add_middleware(AuditContext)
    # Outermost: the request id covers everything below, including a crash's 500.
    app.add_middleware(RequestContext)

    include_routers(app)
    openapi.install(app)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app
