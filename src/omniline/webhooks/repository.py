"""Queries for webhook subscriptions and deliveries. Every query is filtered by workspace."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookSubscription


async def subscriptions(session: AsyncSession, workspace_id: int) -> list[WebhookSubscription]:
    return list(
        await session.scalars(
            select(WebhookSubscription)
            .where(WebhookSubscription.workspace_id == workspace_id)
            .order_by(WebhookSubscription.id)
        )
    )


async def enabled_for(
    session: AsyncSession, workspace_id: int, event_type: str
) -> list[WebhookSubscription]:
    # Event filtering happens here rather than in SQL: JSON containment differs between
    # SQLite and PostgreSQL, and a workspace has a handful of subscriptions.
    # Read once per transaction: a batch of 200 customer messages is 200 events.
    cache: dict[int, list[WebhookSubscription]] = session.info.setdefault("webhook_subs", {})
    if workspace_id not in cache:
        cache[workspace_id] = await _enabled(session, workspace_id)
    return [s for s in cache[workspace_id] if event_type in (s.event_types or [])]


async def _enabled(session: AsyncSession, workspace_id: int) -> list[WebhookSubscription]:
    rows = await session.scalars(
        select(WebhookSubscription)
        .where(
            WebhookSubscription.workspace_id == workspace_id,
            WebhookSubscription.enabled.is_(True),
        )
        .order_by(WebhookSubscription.id)
    )
    return list(rows)


async def subscription(
    session: AsyncSession, workspace_id: int, sub_id: int
) -> WebhookSubscription | None:
    return await session.scalar(
        select(WebhookSubscription).where(
            WebhookSubscription.id == sub_id, WebhookSubscription.workspace_id == workspace_id
        )
    )


async def deliveries(
    session: AsyncSession, workspace_id: int, sub_id: int, limit: int = 100
) -> list[WebhookDelivery]:
    return list(
        await session.scalars(
            select(WebhookDelivery)
            .where(
                WebhookDelivery.workspace_id == workspace_id,
                WebhookDelivery.subscription_id == sub_id,
            )
            .order_by(WebhookDelivery.id.desc())
            .limit(limit)
        )
    )


async def delivery(
    session: AsyncSession, workspace_id: int, delivery_id: int
) -> WebhookDelivery | None:
    return await session.scalar(
        select(WebhookDelivery).where(
            WebhookDelivery.id == delivery_id, WebhookDelivery.workspace_id == workspace_id
        )
    )


async def attempts_for(
    session: AsyncSession, delivery_ids: list[int]
) -> dict[int, list[WebhookAttempt]]:
    if not delivery_ids:
        return {}
    out: dict[int, list[WebhookAttempt]] = {}
    rows = await session.scalars(
        select(WebhookAttempt)
        .where(WebhookAttempt.delivery_id.in_(delivery_ids))
        .order_by(WebhookAttempt.id)
    )
    for a in rows:
        out.setdefault(a.delivery_id, []).append(a)
    return out
