"""The ``webhook_deliver`` job: one POST attempt, its log row, and the next attempt.

Retries are scheduled by the handler itself (a new job with back-off) rather than by
raising: the attempt's status code, error and duration must be committed so the admin
log shows why a delivery is late, and a raised error would roll them back.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import httpx
import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.jobs.registry import job
from omniline.jobs.runner import backoff_seconds
from omniline.jobs.service import enqueue
from omniline.kit.clock import utcnow
from omniline.webhooks.models import (
    DeliveryStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
)
from omniline.webhooks.service import JOB_KIND
from omniline.webhooks.signing import signature

TIMEOUT_SECONDS = 5.0
USER_AGENT = "Omniline-Webhooks/1"


def encode(body: dict[str, Any]) -> bytes:
    # Sorted keys: the same delivery always serialises to the same bytes.
    return orjson.dumps(body, option=orjson.OPT_SORT_KEYS)


async def post(
    sub: WebhookSubscription, delivery: WebhookDelivery
) -> tuple[int | None, str | None]:
    """One attempt: the status code (None when no answer came) and an error text."""
    body = encode(delivery.body)
    stamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Omniline-Event": delivery.event_type,
        "X-Omniline-Delivery": delivery.uuid,
        "X-Omniline-Timestamp": stamp,
        "X-Omniline-Signature": signature(sub.secret, stamp, body),
    }
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS, follow_redirects=False) as client:
            response = await client.post(sub.url, content=body, headers=headers)
    except httpx.TimeoutException:
        return None, f"no answer within {TIMEOUT_SECONDS:g} s"
    except httpx.HTTPError as exc:
        return None, f"{type(exc).__name__}: {exc}"[:1000] or type(exc).__name__
    if 200 <= response.status_code < 300:
        return response.status_code, None
    snippet = response.text[:300].strip()
    error = f"HTTP {response.status_code}" + (f": {snippet}" if snippet else "")
    return response.status_code, error


@job(JOB_KIND)
async def deliver(session: AsyncSession, payload: dict[str, Any]) -> None:
    delivery = await session.scalar(
        select(WebhookDelivery).where(WebhookDelivery.id == int(payload["delivery_id"]))
    )
    if delivery is None or delivery.status != DeliveryStatus.pending.value:
        return  # deleted with its subscription, or delivered by an earlier run
    sub = await session.get(WebhookSubscription, delivery.subscription_id)
    if sub is None:
        return
    started = time.monotonic()
    code, error = await post(sub, delivery)
    duration = int((time.monotonic() - started) * 1000)
    await _record(session, delivery, code, error, duration)


async def _record(
    session: AsyncSession,
    delivery: WebhookDelivery,
    code: int | None,
    error: str | None,
    duration_ms: int,
) -> None:
    now = utcnow()
    delivery.attempts += 1
    session.add(
        WebhookAttempt(
            workspace_id=delivery.workspace_id,
            delivery_id=delivery.id,
            number=delivery.attempts,
            status_code=code,
            error=error,
            duration_ms=duration_ms,
            created_at=now,
        )
    )
    delivery.last_status_code = code
    delivery.last_error = error
    delivery.last_duration_ms = duration_ms
    if error is None:
        delivery.status = DeliveryStatus.delivered.value
        delivery.finished_at = now
        delivery.next_attempt_at = None
    elif delivery.attempts >= delivery.give_up_after:
        delivery.status = DeliveryStatus.failed.value
        delivery.finished_at = now
        delivery.next_attempt_at = None
    else:
        retry_at = now + timedelta(seconds=backoff_seconds(delivery.attempts))
        delivery.next_attempt_at = retry_at
        await enqueue(
            session,
            JOB_KIND,
            {"delivery_id": delivery.id},
            run_at=retry_at,
            workspace_id=delivery.workspace_id,
        )
    await session.flush()
