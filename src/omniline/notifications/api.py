"""Notifications API (docs/notifications.md): the CRM tells a customer something."""

from __future__ import annotations

import hashlib
from typing import Annotated, Any

import orjson
from fastapi import Header, Query, Response
from sqlalchemy import select

from omniline.auth import access
from omniline.auth.deps import CurrentPrincipal, SessionDep
from omniline.errors import Invalid
from omniline.kit.ids import Id
from omniline.kit.openapi import refusals
from omniline.kit.routing import router as make_router
from omniline.notifications import service
from omniline.notifications.models import Notification
from omniline.notifications.schemas import (
    NotificationIn,
    OptOutIn,
    TemplateIn,
    notification_view,
    template_view,
)

router = make_router(prefix="/api/v1/notifications", tags=["notifications"])

# Rules of two fields together, which a JSON schema cannot state (schemathesis.toml).
TEMPLATE_REFUSALS = refusals(
    {422: "`fallback_language` is not one of the languages of `texts`, or every text is blank"}
)


@router.post(
    "",
    status_code=201,
    responses=refusals(
        {422: "No idempotency key: neither the `idempotency_key` field nor the header"}
    ),
)
async def send(
    body: NotificationIn,
    response: Response,
    p: CurrentPrincipal,
    session: SessionDep,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> dict[str, Any]:
    """201 when sent now; 200 with the first answer when the same key was sent before."""
    access.check_admin(p)
    key = body.idempotency_key or idempotency_key
    if not key:
        # No key given: the same call (customer, template, variables) within the same request
        # body is one notification.
        digest = hashlib.sha256(
            orjson.dumps(body.model_dump(), option=orjson.OPT_SORT_KEYS)
        ).hexdigest()
        raise Invalid(
            "idempotency_key",
            "send an idempotency key (the field or the Idempotency-Key header) so that a retried "
            f"call sends once; for example {digest[:32]}",
        )
    note, created = await service.do_send(
        session,
        p.workspace_id,
        external_id=body.external_id,
        template_key=body.template,
        variables=dict(body.variables),
        idempotency_key=key,
        channel=body.channel,
    )
    if not created:
        response.status_code = 200
    return notification_view(note, *await service.delivery_status(session, note))


@router.get("")
async def list_notifications(
    p: CurrentPrincipal,
    session: SessionDep,
    external_id: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    access.check_admin(p)
    stmt = select(Notification).where(Notification.workspace_id == p.workspace_id)
    if external_id:
        from omniline.contacts import repository as contacts

        contact = await contacts.by_external_id(session, p.workspace_id, external_id[:200])
        stmt = stmt.where(Notification.contact_id == (contact.id if contact else 0))
    rows = list(await session.scalars(stmt.order_by(Notification.id.desc()).limit(limit)))
    return {
        "items": [notification_view(n, *await service.delivery_status(session, n)) for n in rows]
    }


@router.put("/opt-out")
async def opt_out(body: OptOutIn, p: CurrentPrincipal, session: SessionDep) -> dict[str, Any]:
    access.check_admin(p)
    contact = await service.do_set_opt_out(session, p.workspace_id, body.external_id, body.opt_out)
    return {"external_id": contact.external_id, "opt_out": contact.notifications_opt_out}


@router.get("/templates")
async def list_templates(p: CurrentPrincipal, session: SessionDep) -> dict[str, Any]:
    access.check_admin(p)
    return {"items": [template_view(t) for t in await service.templates(session, p.workspace_id)]}


@router.post("/templates", status_code=201, responses=TEMPLATE_REFUSALS)
async def create_template(
    body: TemplateIn, p: CurrentPrincipal, session: SessionDep
) -> dict[str, Any]:
    access.check_admin(p)
    t = await service.do_save_template(session, p.workspace_id, body.model_dump())
    return template_view(t)


@router.put("/templates/{template_id:int}", responses=TEMPLATE_REFUSALS)
async def update_template(
    template_id: Id, body: TemplateIn, p: CurrentPrincipal, session: SessionDep
) -> dict[str, Any]:
    access.check_admin(p)
    t = await service.do_save_template(session, p.workspace_id, body.model_dump(), template_id)
    return template_view(t)


@router.delete("/templates/{template_id:int}", status_code=204)
async def delete_template(template_id: Id, p: CurrentPrincipal, session: SessionDep) -> Response:
    access.check_admin(p)
    await service.do_delete_template(session, p.workspace_id, template_id)
    return Response(status_code=204)


@router.get("/{note_id:int}")
async def get_notification(note_id: Id, p: CurrentPrincipal, session: SessionDep) -> dict[str, Any]:
    access.check_admin(p)
    note = await service.notification_of(session, p.workspace_id, note_id)
    return notification_view(note, *await service.delivery_status(session, note))
