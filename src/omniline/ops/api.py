"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import func, select, text

from omniline import __version__, db
from omniline.config import get_settings
from omniline.conversations.models import Conversation
from omniline.jobs.models import Job, JobState
from omniline.kit.clock import utcnow
from omniline.ops import metrics

router = APIRouter(tags=["operations"])
CHECK_SECONDS = 3.0


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is alive and serving (no database or Redis involved)."""
    return {"status": "ok", "version": __version__}


async def _database_ok() -> bool:
    try:
        async with asyncio.timeout(CHECK_SECONDS), db.sessionmaker()() as session:
            await session.execute(text("SELECT 1"))
        return True
    except Exception:
        return False


async def _redis_ok(url: str) -> bool:
    import redis.asyncio as aioredis

    client = aioredis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
    try:
        async with asyncio.timeout(CHECK_SECONDS):
            return bool(await client.ping())
    except Exception:
        return False
    finally:
        await client.aclose()


@router.get("/readyz", responses={503: {"description": "a dependency does not answer"}})
async def readyz() -> Response:
    """Ready for traffic: the database answers, and Redis when it is configured."""
    settings = get_settings()
    checks = {"database": "ok" if await _database_ok() else "error"}
    if settings.redis_url:
        checks["redis"] = "ok" if await _redis_ok(settings.redis_url) else "error"
    ready = all(v == "ok" for v in checks.values())
    body = {"status": "ok" if ready else "error", **checks}
    return JSONResponse(body, status_code=200 if ready else 503)


def _allowed(request: Request) -> bool:
    token = get_settings().metrics_token
    if token:
        given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        return hmac.compare_digest(given, token)
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host in ("localhost", "testclient")


async def _scrape_database() -> None:
    async with db.sessionmaker()() as session:
        rows = await session.execute(
            select(Conversation.workspace_id, Conversation.queue_id, func.count())
            .where(Conversation.status == "queued")
            .group_by(Conversation.workspace_id, Conversation.queue_id)
        )
        metrics.conversations_waiting.clear()
        for workspace_id, queue_id, count in rows:
            metrics.conversations_waiting.labels(str(workspace_id), str(queue_id or "")).set(count)
        now = utcnow()
        oldest: datetime | None = await session.scalar(
            select(func.min(Job.run_at)).where(
                Job.state == JobState.pending.value, Job.run_at <= now
            )
        )
        metrics.jobs_oldest_due.set(max(0.0, (now - oldest).total_seconds()) if oldest else 0.0)
        failed = await session.scalar(
            select(func.count()).select_from(Job).where(Job.state == JobState.failed.value)
        )
        metrics.jobs_failed.set(failed or 0)


@router.get("/metrics", include_in_schema=False)
async def prometheus(request: Request) -> Response:
    """Protected: with ``OMNILINE_METRICS_TOKEN`` a bearer token, otherwise loopback only."""
    if not _allowed(request):
        return JSONResponse(
            {"error": {"code": "forbidden", "message": "metrics are not public; see the docs"}},
            status_code=403,
        )
    try:
        async with asyncio.timeout(CHECK_SECONDS):
            await _scrape_database()
        metrics.database_up.set(1)
    except Exception:
        metrics.database_up.set(0)
    from omniline.realtime.service import get_realtime

    hub = get_realtime().hub
    staff = len(hub.staff_connections())
    metrics.open_sockets.labels("staff").set(staff)
    metrics.open_sockets.labels("widget").set(hub.size - staff)
    body, content_type = metrics.render()
    return Response(body, media_type=content_type)
