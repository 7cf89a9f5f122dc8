"""Admin pages of SLA policies: the list with a new-policy form, and the editor."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.auth.deps import SessionDep
from omniline.auth.principal import Principal
from omniline.errors import DomainError
from omniline.kit.ids import Id
from omniline.sla import forms, repository, service
from omniline.workspaces.pages_common import AdminPrincipal, admin_router, form_status, found, page

router = admin_router()
# Flash codes; their texts live in the templates (sla.html, calendars.html).
DONE = frozenset({"created", "saved", "deleted", "calendar_created", "calendar_saved"})


def back(path: str, done: str) -> RedirectResponse:
    assert done in DONE
    return RedirectResponse(f"{path}?done={done}", status_code=303)


def done_of(request: Request) -> str | None:
    done = request.query_params.get("done")
    return done if done in DONE else None


async def _render(
    request: Request,
    p: Principal,
    session: AsyncSession,
    template: str,
    *,
    form: dict[str, Any],
    errors: dict[str, str] | None = None,
    status: int = 200,
    **extra: Any,
) -> Response:
    queues = await repository.queues(session, p.workspace_id)
    cals = await repository.calendars(session, p.workspace_id)
    return page(
        request,
        p,
        template,
        status=status,
        form=form,
        errors=errors or {},
        queues=queues,
        calendars=cals,
        queue_names={q.id: q.name for q in queues},
        calendar_names={c.id: c.name for c in cals},
        done=done_of(request),
        **extra,
    )


async def _list(request: Request, p: Principal, session: AsyncSession, **kwargs: Any) -> Response:
    policies = await repository.policies(session, p.workspace_id)
    kwargs.setdefault("form", forms.policy_form(None))
    return await _render(request, p, session, "admin/sla.html", policies=policies, **kwargs)


@router.get("/admin/sla")
async def list_policies(request: Request, p: AdminPrincipal, session: SessionDep) -> Response:
    return await _list(request, p, session)


@router.post("/admin/sla")
async def create_policy(request: Request, p: AdminPrincipal, session: SessionDep) -> Response:
    submitted = forms.policy_submitted(await request.form())
    try:
        await service.do_create_policy(session, p, forms.policy_body(submitted))
    except DomainError as exc:
        await session.rollback()
        errors = forms.policy_errors(exc)
        return await _list(
            request, p, session, form=submitted, errors=errors, status=form_status(exc)
        )
    return back("/admin/sla", "created")


@router.get("/admin/sla/{policy_id:int}")
async def edit_policy(
    request: Request, policy_id: Id, p: AdminPrincipal, session: SessionDep
) -> Response:
    policy = found(await repository.policy(session, p.workspace_id, policy_id), "SLA policy")
    return await _render(
        request, p, session, "admin/sla_edit.html", form=forms.policy_form(policy), policy=policy
    )


@router.post("/admin/sla/{policy_id:int}")
async def save_policy(
    request: Request, policy_id: Id, p: AdminPrincipal, session: SessionDep
) -> Response:
    policy = found(await repository.policy(session, p.workspace_id, policy_id), "SLA policy")
    submitted = forms.policy_submitted(await request.form())
    try:
        await service.do_update_policy(session, p, policy.id, forms.policy_body(submitted))
    except DomainError as exc:
        await session.rollback()
        policy = found(await repository.policy(session, p.workspace_id, policy_id), "SLA policy")
        return await _render(
            request,
            p,
            session,
            "admin/sla_edit.html",
            form=submitted,
            errors=forms.policy_errors(exc),
            status=form_status(exc),
            policy=policy,
        )
    return back(f"/admin/sla/{policy_id}", "saved")


@router.post("/admin/sla/{policy_id:int}/delete")
async def delete_policy(
    request: Request, policy_id: Id, p: AdminPrincipal, session: SessionDep
) -> Response:
    await service.do_delete_policy(session, p, policy_id)
    return back("/admin/sla", "deleted")
