"""Webhook actions: managing subscriptions (administrators), queueing and retrying deliveries."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from omniline.audit import service as audit
from omniline.audit.redact import snapshot
from omniline.auth import access
from omniline.auth.principal import Principal
from omniline.errors import Conflict, NotFound
from omniline.jobs import service as jobs
from omniline.kit.clock import iso, utcnow
from omniline.webhooks import repository
from omniline.webhooks.models import (
    TEST_EVENT,
    DeliveryStatus,
    WebhookDelivery,
    WebhookSubscription,
)
from omniline.webhooks.schemas import clean_event_types, clean_url
from omniline.webhooks.signing import new_secret

JOB_KIND = "webhook_deliver"
MAX_ATTEMPTS = 8  # back-off 1 s, 4 s, 16 s ... 1 h: about 1.5 hours before giving up


async def get_subscription(session: AsyncSession, p: Principal, sub_id: int) -> WebhookSubscription:
    access.check_admin(p)
    sub = await repository.subscription(session, p.workspace_id, sub_id)
    if sub is None:
        raise NotFound("no such webhook")
    return sub


SUB_FIELDS = ("url", "description", "event_types", "enabled", "secret")


async def _audit(
    session: AsyncSession,
    p: Principal,
    action: str,
    sub: WebhookSubscription,
    before: dict[str, Any] | None,
) -> None:
    await audit.record_change(
        session, action, sub, SUB_FIELDS, before, target_type="webhook", label=sub.url, actor=p
    )


async def do_create(
    session: AsyncSession,
    p: Principal,
    *,
    url: str,
    event_types: list[str],
    description: str = "",
    enabled: bool = True,
) -> WebhookSubscription:
    access.check_admin(p)
    sub = WebhookSubscription(
        workspace_id=p.workspace_id,
        url=clean_url(url),
        event_types=clean_event_types(event_types),
        description=description.strip()[:200],
        enabled=enabled,
        secret=new_secret(),
    )
    session.add(sub)
    await session.flush()
    await _audit(session, p, "webhook.created", sub, None)
    return sub


async def do_update(
    session: AsyncSession,
    p: Principal,
    sub_id: int,
    *,
    url: str | None = None,
    event_types: list[str] | None = None,
    description: str | None = None,
    enabled: bool | None = None,
) -> WebhookSubscription:
    sub = await get_subscription(session, p, sub_id)
    # Validate everything before changing anything: nothing half-saved.
    new_url = clean_url(url) if url is not None else sub.url
    new_types = clean_event_types(event_types) if event_types is not None else sub.event_types
    before = snapshot(sub, SUB_FIELDS)
    sub.url = new_url
    sub.event_types = list(new_types)
    if description is not None:
        sub.description = description.strip()[:200]
    if enabled is not None:
        sub.enabled = enabled
    sub.updated_at = utcnow()
    await session.flush()
    await _audit(session, p, "webhook.updated", sub, before)
    return sub


async def do_delete(session: AsyncSession, p: Principal, sub_id: int) -> None:
    sub = await get_subscription(session, p, sub_id)
    before = snapshot(sub, SUB_FIELDS)
    await session.delete(sub)
    await session.flush()
    await audit.record(
        session,
        "webhook.deleted",
        actor=p,
        target_type="webhook",
        target_id=sub_id,
        target_label=str(before["url"]),
        before=before,
        after={},
    )


async def do_rotate_secret(session: AsyncSession, p: Principal, sub_id: int) -> WebhookSubscription:
    sub = await get_subscription(session, p, sub_id)
    before = snapshot(sub, SUB_FIELDS)
    sub.secret = new_secret()
    sub.updated_at = utcnow()
    await session.flush()
    await _audit(session, p, "webhook.secret_rotated", sub, before)
    return sub


def envelope(
    delivery_uuid: str, event_type: str, workspace_id: int, at: datetime, data: dict[str, Any]
) -> dict[str, Any]:
    return {
        "id": delivery_uuid,
        "type": event_type,
        "occurred_at": iso(at),
        "workspace_id": workspace_id,
        "data": data,
    }


async def queue_delivery(
    session: AsyncSession,
    sub: WebhookSubscription,
    event_type: str,
    data: dict[str, Any],
    at: datetime | None = None,
) -> WebhookDelivery:
    """A delivery row and its job, in the caller's transaction (both commit or neither)."""
    (delivery,) = await queue_deliveries(session, [(sub, event_type, data)], at)
    return delivery


async def queue_deliveries(
    session: AsyncSession,
    wanted: list[tuple[WebhookSubscription, str, dict[str, Any]]],
    at: datetime | None = None,
) -> list[WebhookDelivery]:
    """:func:`queue_delivery` for several (subscription, event type, data): one flush."""
    made = []
    for sub, event_type, data in wanted:
        key = str(uuid.uuid4())
        made.append(
            WebhookDelivery(
                workspace_id=sub.workspace_id,
                subscription_id=sub.id,
                uuid=key,
                event_type=event_type,
                body=envelope(key, event_type, sub.workspace_id, at or utcnow(), data),
                give_up_after=MAX_ATTEMPTS,
            )
        )
    session.add_all(made)
    await session.flush()
    for delivery in made:
        await jobs.enqueue(
            session, JOB_KIND, {"delivery_id": delivery.id}, workspace_id=delivery.workspace_id
        )
    return made


async def do_send_test(session: AsyncSession, p: Principal, sub_id: int) -> WebhookDelivery:
    """A ``webhook.test`` delivery, sent even while the subscription is disabled."""
    sub = await get_subscription(session, p, sub_id)
    data = {"message": "A test event from Omniline.", "subscription_id": sub.id}
    return await queue_delivery(session, sub, TEST_EVENT, data)


async def do_retry_delivery(
    session: AsyncSession, p: Principal, delivery_id: int
) -> WebhookDelivery:
    access.check_admin(p)
    delivery = await repository.delivery(session, p.workspace_id, delivery_id)
    if delivery is None:
        raise NotFound("no such delivery")
    if delivery.status != DeliveryStatus.failed.value:
        raise Conflict("only a failed delivery can be retried; this one is " + delivery.status)
    delivery.status = DeliveryStatus.pending.value
    delivery.give_up_after = delivery.attempts + MAX_ATTEMPTS
    delivery.next_attempt_at = utcnow()
    delivery.finished_at = None
    await session.flush()
    await jobs.enqueue(
        session, JOB_KIND, {"delivery_id": delivery.id}, workspace_id=delivery.workspace_id
    )
    return delivery
