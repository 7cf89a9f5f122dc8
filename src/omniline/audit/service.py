"""Writing to the audit log (``record``) and reading it back (admins only).

Every writer calls :func:`record` in its own transaction: the row commits with the
change it describes, or not at all. There is no update or delete here by design.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from omniline.audit import context, repository
from omniline.audit.models import AuditEntry
from omniline.audit.redact import clean, diff, snapshot
from omniline.auth import access
from omniline.auth.principal import Principal

# Contact opens: at most one row per (user, contact) per window and process. Opening a
# contact is a hot path (every click in the workspace); the window keeps the log useful
# ("who looked at this customer, and when roughly") without a write per page view.
CONTACT_VIEW_WINDOW_S = 300.0
_MAX_REMEMBERED = 20_000
_recent_views: dict[tuple[int, int], float] = {}


def _actor_of(p: Principal | None) -> tuple[int | None, str, int | None]:
    if p is None:
        info = context.current()
        p = info.principal if info is not None else None
    if isinstance(p, Principal):
        return p.user_id, f"{p.name} <{p.email}>" if p.name else p.email, p.workspace_id
    return None, "", None


async def record(
    session: AsyncSession,
    action: str,
    *,
    actor: Principal | None = None,
    workspace_id: int | None = None,
    target_type: str = "",
    target_id: object = "",
    target_label: str = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    data: dict[str, Any] | None = None,
    ip: str | None = None,
    user_agent: str | None = None,
    actor_id: int | None = None,
    actor_label: str | None = None,
) -> AuditEntry | None:
    """Add one audit row to ``session`` (flushed with the caller's unit of work).

    The actor defaults to the signed-in principal of the current request, the client
    address and user agent to the request's. ``before``/``after`` are reduced to the
    keys that changed; a change that changed nothing writes no row (answers ``None``).
    """
    p_id, p_label, p_ws = _actor_of(actor)
    payload: dict[str, Any] = clean(dict(data or {}))
    if before is not None or after is not None:
        change = diff(before or {}, after or {})
        if before is not None and after is not None and not change["after"]:
            return None
        payload.update(change)
    info = context.current()
    entry = AuditEntry(
        workspace_id=workspace_id if workspace_id is not None else p_ws,
        actor_id=actor_id if actor_id is not None else p_id,
        actor_label=(actor_label if actor_label is not None else p_label)[:320],
        action=action,
        target_type=target_type,
        target_id=str(target_id)[:64],
        target_label=target_label[:320],
        ip=(ip if ip is not None else (info.ip if info else ""))[:64],
        user_agent=(user_agent if user_agent is not None else (info.user_agent if info else ""))[
            :300
        ],
        data=payload,
    )
    session.add(entry)
    return entry


async def record_contact_view(
    session: AsyncSession, p: Principal, contact_id: int, label: str = "", how: str = "contact"
) -> bool:
    """Note that ``p`` opened a contact, unless they did within the window. Answers if written."""
    now = time.monotonic()
    key = (p.user_id, contact_id)
    last = _recent_views.get(key)
    if last is not None and now - last < CONTACT_VIEW_WINDOW_S:
        return False
    if len(_recent_views) >= _MAX_REMEMBERED:
        _recent_views.clear()
    _recent_views[key] = now
    await record(
        session,
        "contact.viewed",
        actor=p,
        target_type="contact",
        target_id=contact_id,
        target_label=label,
        data={"via": how},
    )
    return True


def forget_recent_views() -> None:
    """Tests: start every test with an empty window."""
    _recent_views.clear()


async def search(
    session: AsyncSession, p: Principal, filters: repository.Filters, limit: int
) -> list[AuditEntry]:
    access.check_may_read_audit(p)
    return await repository.search(session, p.workspace_id, filters, limit)


async def record_change(
    session: AsyncSession,
    action: str,
    obj: Any,
    fields: tuple[str, ...],
    before: dict[str, Any] | None,
    *,
    target_type: str,
    label: str = "",
    deleted: bool = False,
    actor: Principal | None = None,
) -> AuditEntry | None:
    """A created (``before`` None), changed or ``deleted`` row, with its fields before and after.

    Take ``before = snapshot(obj, fields)`` ahead of the change, call this after the flush.
    """
    after = None if deleted else snapshot(obj, fields)
    return await record(
        session,
        action,
        actor=actor,
        workspace_id=getattr(obj, "workspace_id", None),
        target_type=target_type,
        target_id=getattr(obj, "id", ""),
        target_label=label,
        before=before if before is not None else ({} if after is not None else None),
        after=after if after is not None else {},
    )
