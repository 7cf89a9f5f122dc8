"""The widget script, the chat frame it opens, and the demo lender site."""

from __future__ import annotations

import time
from pathlib import Path

from fastapi import Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from sqlalchemy import select

from omniline.auth.deps import SessionDep
from omniline.auth.tokens import identity_signature
from omniline.channels.webchat import service
from omniline.config import get_settings
from omniline.errors import NotFound
from omniline.inboxes.models import Inbox
from omniline.kit.routing import router as make_router
from omniline.web.i18n import negotiate
from omniline.web.templating import render

router = make_router(include_in_schema=False)

STATIC = Path(__file__).resolve().parents[2] / "web" / "static"
DEMO_IDENTITY_SECONDS = 3600
DEMO_CLIENT = {
    "external_id": "client-42",
    "name": "Olena Kovalenko",
    "email": "olena.kovalenko@example.com",
}


@router.get("/widget.js")
async def widget_js() -> Response:
    return FileResponse(
        STATIC / "widget" / "widget.js",
        media_type="application/javascript; charset=utf-8",
        headers={"Cache-Control": "public, max-age=300", "Access-Control-Allow-Origin": "*"},
    )


@router.get("/widget/frame", response_class=HTMLResponse)
async def widget_frame(request: Request, session: SessionDep, key: str = "") -> Response:
    settings = get_settings()
    locale = negotiate(request.headers.get("accept-language"), settings.default_locale)
    try:
        inbox = await service.inbox_by_key(session, key)
    except NotFound:
        return HTMLResponse("Unknown inbox key", status_code=404)
    view = {
        "name": inbox.name,
        "color": (inbox.settings or {}).get("color", "#1f6feb"),
        "greeting": service.greeting_for(inbox.settings or {}, locale),
    }
    # "Call me back" shows when the lender has a phone line (channels/voice/widget.py).
    callback = await session.scalar(
        select(Inbox.id)
        .where(
            Inbox.workspace_id == inbox.workspace_id,
            Inbox.channel == "voice",
            Inbox.enabled.is_(True),
        )
        .limit(1)
    )
    response = render(
        request,
        "widget/frame.html",
        {"inbox": view, "inbox_key": inbox.key, "callback": callback is not None},
        locale=locale,
    )
    # The frame is embedded in lenders' sites: allow framing, forbid everything else.
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; "
        "connect-src 'self' ws: wss:; frame-ancestors *"
    )
    return response


@router.get("/demo/site", response_class=HTMLResponse)
async def demo_site(request: Request, session: SessionDep) -> Response:
    settings = get_settings()
    if not settings.demo_mode:
        raise NotFound("the demo site exists only in demo mode")
    inbox = await service.inbox_by_key(session, "demo-widget")
    identity = None
    if request.query_params.get("as") == DEMO_CLIENT["external_id"]:
        # As the lender's server does: sign every field with an expiry when rendering the page.
        expires = int(time.time()) + DEMO_IDENTITY_SECONDS
        identity = {
            **DEMO_CLIENT,
            "expires": expires,
            "signature": identity_signature(inbox.identity_secret, DEMO_CLIENT, expires),
        }
    base = str(request.base_url).rstrip("/")
    return render(
        request,
        "demo/site.html",
        {"base_url": base, "inbox_key": inbox.key, "identity": identity},
        locale="en",
    )
