"""Templates for the workspace: list the approved ones of a conversation's number and send
one (the only way to write after the 24-hour window closed)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Header, Response
from pydantic import ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.auth.deps import CurrentPrincipal, SessionDep
from omniline.auth.principal import Principal
from omniline.channels.whatsapp import templates
from omniline.conversations import reply_keys, service
from omniline.conversations.schemas import KEY_MAX
from omniline.conversations.views import message_view
from omniline.errors import Invalid, NoSuch, NotFound
from omniline.inboxes.models import Inbox
from omniline.kit.fields import JsonIn
from omniline.kit.ids import Id
from omniline.kit.routing import router as make_router

router = make_router(prefix="/api/v1/whatsapp", tags=["whatsapp"])

PARAM_MAX = 1024
IdempotencyKey = Annotated[
    str | None,
    Header(max_length=KEY_MAX, description="Sent again with a retry: the template goes once"),
]
REPLAYED: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The message sent earlier under this Idempotency-Key; nothing new",
        "content": {"application/json": {"schema": {"type": "object"}}},
    }
}


class TemplateIn(JsonIn):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=512)]
    language: Annotated[str, Field(min_length=1, max_length=20)]
    params: Annotated[list[Annotated[str, Field(max_length=PARAM_MAX)]], Field(max_length=50)] = []
    # Or the Idempotency-Key header: a retry with the same key sends the template once.
    idempotency_key: str | None = Field(default=None, min_length=1, max_length=KEY_MAX)


async def _whatsapp_inbox(session: AsyncSession, p: Principal, conv_id: Id) -> Inbox:
    conv = await service.get_visible(session, p, conv_id)
    inbox = await session.get(Inbox, conv.inbox_id)
    if inbox is None or inbox.channel != "whatsapp":
        raise NotFound("no such WhatsApp conversation")
    return inbox


def _view(t: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": t["name"],
        "language": t["language"],
        "body": t.get("body", ""),
        "params": int(t.get("params") or 0),
    }


def _check_params(template: dict[str, Any], params: list[str]) -> list[str]:
    wanted = int(template.get("params") or 0)
    if len(params) != wanted:
        raise Invalid("params", f"this template takes {wanted} parameters, not {len(params)}")
    clean = [p.strip() for p in params]
    for value in clean:
        if not value:
            raise Invalid("params", "a parameter must not be empty")
        if "\n" in value or "\t" in value or "    " in value:
            raise Invalid("params", "WhatsApp refuses line breaks, tabs or 4 spaces in a row")
    return clean


@router.get("/conversations/{conv_id}/templates")
async def list_templates(conv_id: Id, p: CurrentPrincipal, session: SessionDep) -> dict[str, Any]:
    inbox = await _whatsapp_inbox(session, p, conv_id)
    return {"items": [_view(t) for t in templates.usable(inbox)]}


@router.post("/conversations/{conv_id}/template", status_code=201, responses=REPLAYED)
async def send_template(
    conv_id: Id,
    body: TemplateIn,
    response: Response,
    p: CurrentPrincipal,
    session: SessionDep,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    """201 with the new message; 200 with the first one when its key was sent before."""
    inbox = await _whatsapp_inbox(session, p, conv_id)
    template = templates.find(inbox, body.name, body.language)
    if template is None:
        raise NoSuch("name", "no approved template with this name and language")
    params = _check_params(template, body.params)
    spec = {"name": template["name"], "language": template["language"], "params": params}
    text = templates.fill(template, params)
    meta = {"template": spec}
    key = body.idempotency_key or idempotency_key
    asked = reply_keys.fingerprint(conv_id, text, private=False, meta=meta)
    res = await service.do_reply(
        session,
        p,
        conv_id,
        text,
        meta=meta,
        idempotency=reply_keys.Idempotency(key, asked) if key else None,
    )
    if res.duplicate:
        response.status_code = 200
    return message_view(res.message, res.attachments)
