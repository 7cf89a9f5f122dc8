"""Admin pages: jobs that ran out of attempts, and retrying them by hand."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from omniline.auth.deps import SessionDep
from omniline.errors import Conflict, NotFound
from omniline.kit.ids import Id
from omniline.workspaces import service
from omniline.workspaces.pages_common import AdminPrincipal, admin_router, page, redirect, when

router = admin_router()


@router.get("/admin/jobs")
async def list_failed_jobs(request: Request, p: AdminPrincipal, session: SessionDep) -> Response:
    rows = [
        {"job": j, "failed": when(j.finished_at or j.run_at), "created": when(j.created_at)}
        for j in await service.failed_jobs_of(session, p.workspace_id)
    ]
    return page(request, p, "admin/jobs.html", rows=rows)


@router.post("/admin/jobs/{job_id:int}/retry")
async def retry_job(
    request: Request, job_id: Id, p: AdminPrincipal, session: SessionDep
) -> Response:
    try:
        await service.do_retry_job(session, p.workspace_id, job_id)
    except NotFound:
        return redirect("/admin/jobs", error="not_found")
    except Conflict:  # retried meanwhile, perhaps from another tab
        return redirect("/admin/jobs", error="job_not_failed")
    return redirect("/admin/jobs", ok="job_retried")
