"""Admin page: the audit log with filters (actor, action, target, time range) and paging."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import Response

from omniline.audit import repository, service
from omniline.auth import repository as users
from omniline.auth.deps import SessionDep
from omniline.workspaces.pages_common import AdminPrincipal, admin_router, page, when

router = admin_router()
PAGE_SIZE = 50
FILTER_KEYS = ("actor", "action", "target_type", "target_id", "from", "to")


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and len(value) <= 15 else None


def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _start(d: date | None) -> datetime | None:
    return datetime.combine(d, time(), tzinfo=UTC) if d else None


@router.get("/admin/audit")
async def audit_log(request: Request, p: AdminPrincipal, session: SessionDep) -> Response:
    q = request.query_params
    form = {k: (q.get(k) or "")[:100] for k in FILTER_KEYS}
    day_to = _day(form["to"])
    filters = repository.Filters(
        actor_id=_int(form["actor"]),
        action=form["action"].strip() or None,
        target_type=form["target_type"].strip() or None,
        target_id=form["target_id"].strip() or None,
        since=_start(_day(form["from"])),
        until=_start(day_to + timedelta(days=1)) if day_to else None,
        before_id=_int(q.get("before")),
    )
    rows = await service.search(session, p, filters, PAGE_SIZE + 1)
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    kept = {k: v for k, v in form.items() if v}
    next_url = (
        "/admin/audit?" + urlencode({**kept, "before": rows[-1].id}) if more and rows else None
    )
    return page(
        request,
        p,
        "admin/audit.html",
        rows=[{"e": e, "at": when(e.created_at)} for e in rows],
        actors=await users.users_of(session, p.workspace_id),
        filters=form,
        next_url=next_url,
        first_url="/admin/audit?" + urlencode(kept) if q.get("before") else None,
    )
