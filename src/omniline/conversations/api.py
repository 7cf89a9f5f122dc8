"""Staff API for conversations (docs/api.md)."""

from __future__ import annotations

import hashlib
import time
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from fastapi import Header, Query, Request, Response, WebSocket
from fastapi.responses import FileResponse
from sqlalchemy import select

from omniline.auth import access
from omniline.auth import service as auth_service
from omniline.auth.deps import SESSION_COOKIE, CurrentPrincipal, SessionDep
from omniline.auth.models import TokenKind
from omniline.config import DEFAULT_ALLOWED_TYPES, get_settings
from omniline.conversations import attachments as files
from omniline.conversations import delivery, reply_keys, repository, service
from omniline.conversations.models import Attachment, Conversation, Message, Status
from omniline.conversations.notify import summary_of
from omniline.conversations.schemas import KEY_MAX, AssignIn, ReplyIn, TagsIn, TransferIn
from omniline.conversations.views import event_view, message_view
from omniline.db import sessionmaker
from omniline.errors import DomainError, Invalid, NotFound
from omniline.kit.clock import iso
from omniline.kit.cursor import MAX_LENGTH as CURSOR_MAX_LENGTH
from omniline.kit.cursor import PATTERN as CURSOR_PATTERN
from omniline.kit.cursor import decode_cursor, encode_cursor
from omniline.kit.ids import Cursor, Id
from omniline.kit.routing import router as make_router
from omniline.kit.uploads import file_response, read_limited
from omniline.realtime import socket
from omniline.realtime.hub import StaffConnection

router = make_router(prefix="/api/v1", tags=["conversations"])

STATUS_FILTERS = {s.value for s in Status} | {"open"}
# The schema states every filter the service accepts (schemathesis ST202).
StatusFilter = Literal[
    "open", "bot", "queued", "assigned", "waiting_customer", "resolved", "closed"
]
ASSIGNEE = r"^(me|none|[0-9]{1,15})$"


def _filters(
    p: Any,
    status: str | None,
    queue_id: Id | None,
    inbox_id: Id | None,
    channel: str | None,
    assignee_id: str | None,
    tag: str | None,
) -> repository.Filters:
    if status is not None and status not in STATUS_FILTERS:
        raise Invalid("status", f"must be one of {', '.join(sorted(STATUS_FILTERS))}")
    f = repository.Filters(
        status=status,
        queue_id=queue_id,
        inbox_id=inbox_id,
        channel=channel or None,
        tag=(tag or "").strip().lower() or None,
    )
    if assignee_id == "me":
        f.assignee_id = p.user_id
    elif assignee_id == "none":
        f.unassigned = True
    elif assignee_id:
        if not assignee_id.isdigit():
            raise Invalid("assignee_id", "must be a user id, 'me' or 'none'")
        f.assignee_id = int(assignee_id)
    return f


@router.get("/conversations")
async def list_conversations(
    p: CurrentPrincipal,
    session: SessionDep,
    status: StatusFilter | None = None,
    queue_id: Id | None = None,
    inbox_id: Id | None = None,
    channel: Annotated[str | None, Query(max_length=32)] = None,
    assignee_id: Annotated[str | None, Query(pattern=ASSIGNEE, max_length=20)] = None,
    tag: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Annotated[
        str | None, Query(pattern=CURSOR_PATTERN, max_length=CURSOR_MAX_LENGTH)
    ] = None,
    sort: Literal["activity", "due"] = "activity",
) -> dict[str, Any]:
    from omniline.sla import service as sla

    f = _filters(p, status, queue_id, inbox_id, channel, assignee_id, tag)
    if sort not in ("activity", "due"):
        raise Invalid("sort", "must be 'activity' (newest first) or 'due' (SLA due first)")
    after = decode_cursor(cursor) if cursor else None
    pager = repository.page_by_due if sort == "due" else repository.page
    rows = await pager(session, p.workspace_id, f, after=after, limit=limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    items = [
        summary_of(r, locked=not access.can_see(p, r.conv.queue_id, r.conv.assignee_id))
        for r in rows
    ]
    # SLA countdowns of the rows (locked rows show none).
    for row, item in zip(rows, items, strict=True):
        due = None if item.get("locked") else sla.due_view(row.sla_due)
        item["sla"], item["sla_due_at"] = due, due["due_at"] if due else None
    last = rows[-1] if rows else None
    key = None
    if last is not None:
        by_due = last.sla_due.due_at if last.sla_due else repository.NO_DUE
        key = by_due if sort == "due" else last.conv.last_activity_at
    return {
        "items": items,
        "next_cursor": encode_cursor(key, last.conv.id) if more and last and key else None,
        "counts": await repository.counts(session, p.workspace_id, f),
    }


@router.get("/conversations/{conv_id}")
async def get_conversation(conv_id: Id, p: CurrentPrincipal, session: SessionDep) -> dict[str, Any]:
    from omniline.contacts.service import contact_view

    conv = await service.get_visible(session, p, conv_id)
    (row,) = await repository.rows_by_ids(session, [conv.id])
    out = summary_of(row)
    out["contact"] = await contact_view(session, p, conv.contact_id)
    out.update(
        language=conv.language,
        topic=conv.topic,
        first_queued_at=iso(conv.first_queued_at),
        first_assigned_at=iso(conv.first_assigned_at),
        first_agent_reply_at=iso(conv.first_agent_reply_at),
        resolved_at=iso(conv.resolved_at),
    )
    from omniline.sla import service as sla

    status = await sla.status_of(session, conv)
    out["sla"], out["sla_due_at"] = status, status["due_at"] if status else None
    # Why the channel would refuse a free-text reply now (WhatsApp's 24-hour window), or null.
    out["reply_blocked"] = await delivery.reply_blocked_reason(session, conv)
    out["contact_address"] = conv.contact_address
    return out


@router.get("/conversations/{conv_id}/messages")
async def list_messages(
    conv_id: Id, p: CurrentPrincipal, session: SessionDep, after_id: Cursor | None = None
) -> dict[str, Any]:
    conv = await service.get_visible(session, p, conv_id)
    msgs = await repository.messages(session, [conv.id], after_id=after_id)
    atts = await repository.attachments_for(session, [m.id for m in msgs])
    reveal = access.may_see_documents(p)
    return {"items": [message_view(m, atts.get(m.id), reveal_documents=reveal) for m in msgs]}


@router.get("/conversations/{conv_id}/events")
async def list_events(conv_id: Id, p: CurrentPrincipal, session: SessionDep) -> dict[str, Any]:
    conv = await service.get_visible(session, p, conv_id)
    return {"items": [event_view(e) for e in await repository.events(session, conv.id)]}


# A fresh key per reply, the same one on its retry: the reply is stored once (reply_keys.py).
IdempotencyKey = Annotated[
    str | None,
    Header(
        max_length=KEY_MAX,
        description="Sent again with a retry of the same reply, which is then stored once",
    ),
]
REPLAYED: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The message stored earlier under this Idempotency-Key; nothing new",
        "content": {"application/json": {"schema": {"type": "object"}}},
    }
}


def _idempotency(key: str | None, asked: str) -> reply_keys.Idempotency | None:
    return reply_keys.Idempotency(key, asked) if key else None


@router.post("/conversations/{conv_id}/messages", status_code=201, responses=REPLAYED)
async def reply(
    conv_id: Id,
    body: ReplyIn,
    response: Response,
    p: CurrentPrincipal,
    session: SessionDep,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    """201 with the new message; 200 with the first one when its key was sent before."""
    asked = reply_keys.fingerprint(conv_id, body.text, private=body.private)
    res = await service.do_reply(
        session,
        p,
        conv_id,
        body.text,
        private=body.private,
        idempotency=_idempotency(body.idempotency_key or idempotency_key, asked),
    )
    if res.duplicate:
        response.status_code = 200
    return message_view(res.message, res.attachments)


@router.post("/conversations/{conv_id}/messages/{message_id}/retry")
async def retry_delivery(
    conv_id: Id, message_id: Id, p: CurrentPrincipal, session: SessionDep
) -> dict[str, Any]:
    msg = await delivery.do_retry_delivery(session, p, conv_id, message_id)
    atts = await repository.attachments_for(session, [msg.id])
    return message_view(msg, atts.get(msg.id))


# A form's checkbox values (a form sends "on" for a ticked box).
PRIVATE, NOT_PRIVATE = ("true", "1", "on", "yes"), ("false", "0", "off", "no")
# The form is read by hand (to refuse a large file before writing it); the schema still says
# what it holds. The file types listed are the default of OMNILINE_UPLOAD_ALLOWED_TYPES.
FILE_FORM = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "text": {"type": "string"},
                        "private": {"type": "string", "enum": [*PRIVATE, *NOT_PRIVATE]},
                        # Or the Idempotency-Key header.
                        "idempotency_key": {
                            "type": "string",
                            "minLength": 1,
                            "maxLength": KEY_MAX,
                        },
                    },
                },
                "encoding": {"file": {"contentType": ", ".join(DEFAULT_ALLOWED_TYPES.split(","))}},
            }
        },
    }
}


@router.post(
    "/conversations/{conv_id}/attachments",
    status_code=201,
    openapi_extra=FILE_FORM,
    responses=REPLAYED,
)
async def reply_with_file(
    conv_id: Id,
    request: Request,
    response: Response,
    p: CurrentPrincipal,
    session: SessionDep,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    """201 with the new message; 200 with the first one when its key was sent before."""
    settings = get_settings()
    form = await request.form()
    data = await read_limited(form.get("file"), settings)
    upload: Any = form.get("file")
    text = str(form.get("text") or "")
    if len(text) > settings.message_max_chars:
        raise Invalid("text", f"must be at most {settings.message_max_chars} characters")
    flag = str(form["private"]) if "private" in form else "false"
    if flag not in PRIVATE + NOT_PRIVATE:  # as the schema says: "True" or "2" is refused
        raise Invalid("private", "must be true or false")
    private = flag in PRIVATE
    key = idempotency_key
    if "idempotency_key" in form:  # as in a JSON body: given, it is 1-200 characters
        key = str(form.get("idempotency_key"))
        if not 0 < len(key) <= KEY_MAX:
            raise Invalid("idempotency_key", f"must be 1 to {KEY_MAX} characters")
    asked = reply_keys.fingerprint(
        conv_id,
        text,
        private=private,
        files=[(files.clean_filename(upload.filename), hashlib.sha256(data).hexdigest())],
    )
    idempotency = _idempotency(key, asked)
    # Refuse before writing the file: a refused upload must not leave a file on disk.
    access.check_may_reply(p)
    await service.get_visible(session, p, conv_id)
    if idempotency is not None:
        done = await reply_keys.earlier(session, p, idempotency)
        if done is not None:  # sent before: the file is on disk already
            response.status_code = 200
            return message_view(done.message, done.attachments)
    stored = files.store(settings, p.workspace_id, upload.filename, upload.content_type, data)
    res = await service.do_reply(
        session, p, conv_id, text, private=private, files=[stored], idempotency=idempotency
    )
    if res.duplicate:  # a retry that crossed the first attempt, which stored its own copy
        files.path_of(settings, stored.storage_key).unlink(missing_ok=True)
        response.status_code = 200
    return message_view(res.message, res.attachments)


@router.post("/conversations/{conv_id}/assign")
async def assign(
    conv_id: Id, body: AssignIn, p: CurrentPrincipal, session: SessionDep
) -> dict[str, Any]:
    return summary_of(await service.do_assign(session, p, conv_id, body.assignee_id))


@router.post("/conversations/{conv_id}/transfer")
async def transfer(
    conv_id: Id, body: TransferIn, p: CurrentPrincipal, session: SessionDep
) -> dict[str, Any]:
    from omniline.conversations.transfers import do_transfer

    row = await do_transfer(session, p, conv_id, body.queue_id, body.note)
    locked = not access.can_see(p, row.conv.queue_id, row.conv.assignee_id)
    return summary_of(row, locked=locked)


@router.post("/conversations/{conv_id}/resolve")
async def resolve(conv_id: Id, p: CurrentPrincipal, session: SessionDep) -> dict[str, Any]:
    return summary_of(await service.do_resolve(session, p, conv_id))


@router.post("/conversations/{conv_id}/reopen")
async def reopen(conv_id: Id, p: CurrentPrincipal, session: SessionDep) -> dict[str, Any]:
    return summary_of(await service.do_reopen(session, p, conv_id))


@router.put("/conversations/{conv_id}/tags")
async def set_tags(
    conv_id: Id, body: TagsIn, p: CurrentPrincipal, session: SessionDep
) -> dict[str, Any]:
    return summary_of(await service.do_set_tags(session, p, conv_id, body.tags))


@router.get(
    "/attachments/{attachment_id}",
    responses={
        200: {
            "description": "The file, of the type it was stored with",
            "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
async def get_attachment(
    attachment_id: Id, p: CurrentPrincipal, session: SessionDep
) -> FileResponse:
    row = (
        await session.execute(
            select(Attachment, Conversation)
            .join(Message, Message.id == Attachment.message_id)
            .join(Conversation, Conversation.id == Message.conversation_id)
            .where(Attachment.id == attachment_id, Attachment.workspace_id == p.workspace_id)
        )
    ).first()
    if row is None or not access.can_see(p, row[1].queue_id, row[1].assignee_id):
        raise NotFound("no such attachment")
    return file_response(get_settings(), row[0])


@router.websocket("/stream")
async def stream(ws: WebSocket) -> None:
    token = ws.query_params.get("token")
    kinds: tuple[TokenKind, ...] = (TokenKind.access, TokenKind.api)
    if not token:
        token = ws.cookies.get(SESSION_COOKIE)
        kinds = (TokenKind.session,)
        origin = ws.headers.get("origin")
        # A cookie travels with cross-site sockets too: accept only our own pages.
        if origin and urlsplit(origin).netloc != ws.headers.get("host"):
            await socket.refuse(ws, 4403, "cross-origin socket refused")
            return
    if not token:
        await socket.refuse(ws, 4401, "sign in first")
        return
    loaded_at = time.time()
    try:
        async with sessionmaker()() as session:
            principal = await auth_service.principal_from_token(session, token, kinds)
    except DomainError as exc:
        await socket.refuse(ws, 4401, exc.message)
        return
    if principal.setup_only:
        await socket.refuse(ws, 4403, "set up two-factor sign-in first")
        return
    await ws.accept()
    conn = StaffConnection(principal, loaded_at)
    await socket.serve(ws, conn, ws.query_params.get("last_event_id"))
