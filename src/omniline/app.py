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
from sqlalchemy import text
from starlette.exceptions import HTTPException as StarletteHTTPException

from omniline import __version__, db
from omniline.audit.context import AuditContext
from omniline.auth.deps import LoginRequired
from omniline.config import Settings, get_settings, set_settings
from omniline.errors import DomainError
from omniline.kit.security_headers import SecurityHeaders
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


def create_app(settings: Settings | None = None) -> FastAPI:
    if settings is not None:
        set_settings(settings)
    settings = get_settings()
    register_all()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from omniline.conversations.ingest import reset_batcher
        from omniline.jobs.runner import Runner
        from omniline.kit.background import Background
        from omniline.kit.http import close_http_client
        from omniline.realtime.service import init_realtime

        db.init_engine(settings)
        realtime = init_realtime(settings.redis_url, settings.realtime_buffer)
        await realtime.start()
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
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)

    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> Response:
        return JSONResponse(exc.body(), status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        return _validation_response(exc)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        code = HTTP_CODES.get(exc.status_code, "error")
        message = exc.detail if isinstance(exc.detail, str) else code
        if exc.status_code == 404 and message == "Not Found":
            message = "no such page or endpoint"
        return JSONResponse(
            {"error": {"code": code, "message": message}},
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse(
            {"error": {"code": "internal_error", "message": "internal error; it is logged"}},
            status_code=500,
        )

    app.add_middleware(SecurityHeaders)
    app.add_middleware(AuditContext)

    @app.get("/healthz", tags=["health"])
    async def healthz() -> Response:
        try:
            async with db.sessionmaker()() as session:
                await session.execute(text("SELECT 1"))
        except Exception:
            log.exception("health check: database does not answer")
            return JSONResponse({"status": "error", "database": "error"}, status_code=503)
        return JSONResponse({"status": "ok", "database": "ok", "version": __version__})

    include_routers(app)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app
