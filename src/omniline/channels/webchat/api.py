"""The widget / mobile-app API: a stable contract (docs/api.md)."""

from __future__ import annotations

from typing import Any

from fastapi import Request, WebSocket
from fastapi.responses import FileResponse
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from omniline.auth.deps import CurrentVisitor, SessionDep, client_of
from omniline.auth.throttle import get_throttle
from omniline.auth.tokens import read_visitor_token
from omniline.channels.webchat import service
from omniline.channels.webchat.liveness import get_liveness
from omniline.channels.webchat.schemas import SessionIn, WidgetMessageIn
from omniline.config import get_settings
from omniline.conversations import attachments as files
from omniline.conversations.inbound import InboundMessage
from omniline.conversations.ingest import get_batcher
from omniline.conversations.models import Attachment, Conversation, Message
from omniline.conversations.views import widget_message_view
from omniline.errors import DomainError, Invalid, NotFound, Unauthorized
from omniline.kit.ids import Cursor, Id
from omniline.kit.routing import router as make_router
from omniline.kit.uploads import file_response, read_limited
from omniline.realtime import socket
from omniline.realtime.hub import VisitorConnection

router = make_router(prefix="/api/v1/widget", tags=["widget"])
# The visitor's contact was merged into another one: the widget starts a new session (which
# finds the merged contact) when it gets 401.
SESSION_ENDED = "this chat session has ended; start a new session"


async def _submit(item: InboundMessage) -> Any:
    try:
        return await get_batcher().submit(item)
    except IntegrityError as exc:
        # The only row a widget message refers to that can vanish is its contact (merged).
        raise Unauthorized(SESSION_ENDED) from exc


@router.post("/sessions", status_code=201)
async def start_session(body: SessionIn, request: Request, session: SessionDep) -> dict[str, Any]:
    # Guessing signatures is throttled per client address (auth/throttle.py); anonymous
    # sessions from that address still start.
    checks = get_throttle().identity(client_of(request).ip) if body.identity else []
    await get_throttle().check(*checks)
    try:
        return await service.do_start_session(
            session,
            get_settings(),
            inbox_key=body.inbox_key,
            identity=body.identity.model_dump() if body.identity else None,
            previous_token=body.session_token,
            locale=(body.locale or "")[:8] or None,
        )
    except Unauthorized:
        await get_throttle().fail(*checks)
        raise


@router.get("/messages")
async def list_messages(
    visitor: CurrentVisitor, session: SessionDep, after_id: Cursor | None = None
) -> dict[str, Any]:
    return {"items": await service.visitor_messages(session, visitor, after_id)}


@router.post("/messages", status_code=201)
async def post_message(body: WidgetMessageIn, visitor: CurrentVisitor) -> dict[str, Any]:
    external = f"webchat:{visitor.contact_id}:{body.client_id}" if body.client_id else None
    received = await _submit(
        InboundMessage(
            workspace_id=visitor.workspace_id,
            inbox_id=visitor.inbox_id,
            contact_id=visitor.contact_id,
            text=body.text,
            external_id=external,
            meta={"button_payload": body.payload} if body.payload else {},
        )
    )
    return widget_message_view(received.message, received.attachments)


@router.post("/attachments", status_code=201)
async def post_attachment(request: Request, visitor: CurrentVisitor) -> dict[str, Any]:
    settings = get_settings()
    form = await request.form()
    data = await read_limited(form.get("file"), settings)
    upload: Any = form.get("file")
    text = str(form.get("text") or "")
    client_id = str(form.get("client_id") or "")[:100]
    if len(text) > settings.message_max_chars:
        raise Invalid("text", f"must be at most {settings.message_max_chars} characters")
    stored = files.store(settings, visitor.workspace_id, upload.filename, upload.content_type, data)
    received = await _submit(
        InboundMessage(
            workspace_id=visitor.workspace_id,
            inbox_id=visitor.inbox_id,
            contact_id=visitor.contact_id,
            text=text,
            attachments=[stored],
            external_id=f"webchat:{visitor.contact_id}:{client_id}" if client_id else None,
        )
    )
    return widget_message_view(received.message, received.attachments)


@router.get("/attachments/{attachment_id}")
async def get_attachment(
    attachment_id: Id, visitor: CurrentVisitor, session: SessionDep
) -> FileResponse:
    row = (
        await session.execute(
            select(Attachment)
            .join(Message, Message.id == Attachment.message_id)
            .join(Conversation, Conversation.id == Message.conversation_id)
            .where(
                Attachment.id == attachment_id,
                Message.private.is_(False),
                Conversation.contact_id == visitor.contact_id,
                Conversation.inbox_id == visitor.inbox_id,
            )
        )
    ).scalar_one_or_none()
    if row is None:
        raise NotFound("no such attachment")
    return file_response(get_settings(), row)


@router.websocket("/stream")
async def stream(ws: WebSocket) -> None:
    settings = get_settings()
    token = ws.query_params.get("token", "")
    try:
        visitor = read_visitor_token(
            settings.secret_key, token, settings.widget_session_days * 86400
        )
    except DomainError as exc:
        await socket.refuse(ws, 4401, exc.message)
        return
    conn = VisitorConnection(visitor)
    tracker = get_liveness()
    if not await tracker.connect(conn):
        await socket.refuse(ws, 4401, SESSION_ENDED)
        return
    try:
        await ws.accept()
        await socket.serve(ws, conn, ws.query_params.get("last_event_id"))
    finally:
        await tracker.disconnect(conn)
