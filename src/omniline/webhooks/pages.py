"""Admin pages: webhook subscriptions, "Send test event", and the delivery log with retry."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData

from omniline.auth.deps import SessionDep
from omniline.auth.principal import Principal
from omniline.errors import Conflict, DomainError, NotFound
from omniline.kit.ids import Id
from omniline.webhooks import repository, service
from omniline.webhooks.models import EVENT_TYPES
from omniline.workspaces.pages_common import (
    AdminPrincipal,
    admin_router,
    checked,
    field_errors,
    form_status,
    page,
    text,
    when,
)

router = admin_router()

# ``?done=`` codes the webhook templates word; anything else shows nothing.
NOTICES = frozenset(
    {"created", "saved", "deleted", "test_queued", "secret_rotated", "retried", "not_failed"}
)


def _go(path: str, done: str) -> RedirectResponse:
    assert done in NOTICES, done
    return RedirectResponse(f"{path}?done={done}", status_code=303)


def _notice(request: Request) -> str | None:
    done = request.query_params.get("done")
    return done if done in NOTICES else None


def _submitted(form: FormData) -> dict[str, Any]:
    return {
        "url": text(form, "url"),
        "description": text(form, "description"),
        "event_types": [v for v in form.getlist("event_types") if isinstance(v, str)],
        "enabled": checked(form, "enabled"),
    }


async def _list(
    request: Request,
    p: Principal,
    session: AsyncSession,
    *,
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    return page(
        request,
        p,
        "admin/webhooks.html",
        status=status,
        subs=await repository.subscriptions(session, p.workspace_id),
        event_types=EVENT_TYPES,
        form=form or {"event_types": [], "enabled": True},
        errors=errors or {},
        notice=_notice(request),
    )


@router.get("/admin/webhooks")
async def list_webhooks(request: Request, p: AdminPrincipal, session: SessionDep) -> Response:
    return await _list(request, p, session)


@router.post("/admin/webhooks")
async def create_webhook(request: Request, p: AdminPrincipal, session: SessionDep) -> Response:
    form = await request.form()
    submitted = _submitted(form)
    try:
        sub = await service.do_create(session, p, **submitted)
    except DomainError as exc:
        await session.rollback()
        return await _list(
            request,
            p,
            session,
            form=submitted,
            errors=field_errors(exc, "url"),
            status=form_status(exc),
        )
    return _go(f"/admin/webhooks/{sub.id}", "created")


async def _detail(
    request: Request,
    p: Principal,
    session: AsyncSession,
    sub_id: Id,
    *,
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    sub = await service.get_subscription(session, p, sub_id)
    rows = await repository.deliveries(session, p.workspace_id, sub.id)
    attempts = await repository.attempts_for(session, [d.id for d in rows])
    log = [
        {
            "d": d,
            "at": when(d.created_at),
            "next": when(d.next_attempt_at),
            "attempts": [{"a": a, "at": when(a.created_at)} for a in attempts.get(d.id, [])],
        }
        for d in rows
    ]
    if form is None:
        form = {
            "url": sub.url,
            "description": sub.description,
            "event_types": list(sub.event_types or []),
            "enabled": sub.enabled,
        }
    return page(
        request,
        p,
        "admin/webhooks_edit.html",
        status=status,
        sub=sub,
        log=log,
        event_types=EVENT_TYPES,
        form=form,
        errors=errors or {},
        notice=_notice(request),
    )


@router.get("/admin/webhooks/{sub_id:int}")
async def show_webhook(
    request: Request, sub_id: Id, p: AdminPrincipal, session: SessionDep
) -> Response:
    return await _detail(request, p, session, sub_id)


@router.post("/admin/webhooks/{sub_id:int}")
async def save_webhook(
    request: Request, sub_id: Id, p: AdminPrincipal, session: SessionDep
) -> Response:
    form = await request.form()
    submitted = _submitted(form)
    await service.get_subscription(session, p, sub_id)
    try:
        await service.do_update(session, p, sub_id, **submitted)
    except DomainError as exc:
        await session.rollback()
        return await _detail(
            request,
            p,
            session,
            sub_id,
            form=submitted,
            errors=field_errors(exc, "url"),
            status=form_status(exc),
        )
    return _go(f"/admin/webhooks/{sub_id}", "saved")


@router.post("/admin/webhooks/{sub_id:int}/delete")
async def delete_webhook(
    request: Request, sub_id: Id, p: AdminPrincipal, session: SessionDep
) -> Response:
    await service.do_delete(session, p, sub_id)
    return _go("/admin/webhooks", "deleted")


@router.post("/admin/webhooks/{sub_id:int}/test")
async def test_webhook(
    request: Request, sub_id: Id, p: AdminPrincipal, session: SessionDep
) -> Response:
    await service.do_send_test(session, p, sub_id)
    return _go(f"/admin/webhooks/{sub_id}", "test_queued")


@router.post("/admin/webhooks/{sub_id:int}/secret")
async def rotate_secret(
    request: Request, sub_id: Id, p: AdminPrincipal, session: SessionDep
) -> Response:
    await service.do_rotate_secret(session, p, sub_id)
    return _go(f"/admin/webhooks/{sub_id}", "secret_rotated")


@router.post("/admin/webhooks/deliveries/{delivery_id:int}/retry")
async def retry_delivery(
    request: Request, delivery_id: Id, p: AdminPrincipal, session: SessionDep
) -> Response:
    delivery = await repository.delivery(session, p.workspace_id, delivery_id)
    if delivery is None:
        raise NotFound("no such delivery")
    back = f"/admin/webhooks/{delivery.subscription_id}"
    try:
        await service.do_retry_delivery(session, p, delivery_id)
    except Conflict:  # retried meanwhile, perhaps from another tab
        await session.rollback()
        return _go(back, "not_failed")
    return _go(back, "retried")
