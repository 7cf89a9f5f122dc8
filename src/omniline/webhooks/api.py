"""Admin API for outgoing webhooks (docs/webhooks.md)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Response

from omniline.auth import access
from omniline.auth.deps import CurrentPrincipal, SessionDep
from omniline.kit.ids import Id
from omniline.kit.routing import router as make_router
from omniline.webhooks import repository, service
from omniline.webhooks.models import EVENT_TYPES
from omniline.webhooks.schemas import (
    SubscriptionIn,
    SubscriptionPatch,
    delivery_view,
    subscription_view,
)

router = make_router(prefix="/api/v1/webhooks", tags=["webhooks"])


@router.get("")
async def list_webhooks(p: CurrentPrincipal, session: SessionDep) -> dict[str, Any]:
    access.check_admin(p)
    subs = await repository.subscriptions(session, p.workspace_id)
    return {"items": [subscription_view(s) for s in subs], "event_types": list(EVENT_TYPES)}


@router.post("", status_code=201)
async def create_webhook(
    body: SubscriptionIn, p: CurrentPrincipal, session: SessionDep
) -> dict[str, Any]:
    sub = await service.do_create(
        session,
        p,
        url=body.url,
        event_types=body.event_types,
        description=body.description,
        enabled=body.enabled,
    )
    return subscription_view(sub)


@router.get("/{sub_id}")
async def get_webhook(sub_id: Id, p: CurrentPrincipal, session: SessionDep) -> dict[str, Any]:
    return subscription_view(await service.get_subscription(session, p, sub_id))


@router.patch("/{sub_id}")
async def update_webhook(
    sub_id: Id, body: SubscriptionPatch, p: CurrentPrincipal, session: SessionDep
) -> dict[str, Any]:
    sub = await service.do_update(
        session,
        p,
        sub_id,
        url=body.url,
        event_types=body.event_types,
        description=body.description,
        enabled=body.enabled,
    )
    return subscription_view(sub)


@router.delete("/{sub_id}", status_code=204)
async def delete_webhook(sub_id: Id, p: CurrentPrincipal, session: SessionDep) -> Response:
    await service.do_delete(session, p, sub_id)
    return Response(status_code=204)


@router.post("/{sub_id}/secret")
async def rotate_secret(sub_id: Id, p: CurrentPrincipal, session: SessionDep) -> dict[str, Any]:
    return subscription_view(await service.do_rotate_secret(session, p, sub_id))


@router.post("/{sub_id}/test", status_code=202)
async def send_test(sub_id: Id, p: CurrentPrincipal, session: SessionDep) -> dict[str, Any]:
    return delivery_view(await service.do_send_test(session, p, sub_id))


@router.get("/{sub_id}/deliveries")
async def list_deliveries(
    sub_id: Id,
    p: CurrentPrincipal,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    sub = await service.get_subscription(session, p, sub_id)
    rows = await repository.deliveries(session, p.workspace_id, sub.id, limit)
    attempts = await repository.attempts_for(session, [d.id for d in rows])
    return {"items": [delivery_view(d, attempts.get(d.id, [])) for d in rows]}


@router.post("/deliveries/{delivery_id}/retry", status_code=202)
async def retry_delivery(
    delivery_id: Id, p: CurrentPrincipal, session: SessionDep
) -> dict[str, Any]:
    return delivery_view(await service.do_retry_delivery(session, p, delivery_id))
