"""Reading the audit log: filters and keyset paging (newest first)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.audit.models import AuditEntry


@dataclass(frozen=True, slots=True)
class Filters:
    actor_id: int | None = None
    action: str | None = None  # exact, or a prefix ending in "." ("user." = every user action)
    target_type: str | None = None
    target_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    before_id: int | None = None  # paging: rows older than this id


async def search(
    session: AsyncSession, workspace_id: int, f: Filters, limit: int
) -> list[AuditEntry]:
    stmt = select(AuditEntry).where(AuditEntry.workspace_id == workspace_id)
    if f.actor_id is not None:
        stmt = stmt.where(AuditEntry.actor_id == f.actor_id)
    if f.action:
        if f.action.endswith("."):
            escaped = f.action.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            stmt = stmt.where(AuditEntry.action.like(escaped + "%", escape="\\"))
        else:
            stmt = stmt.where(AuditEntry.action == f.action)
    if f.target_type:
        stmt = stmt.where(AuditEntry.target_type == f.target_type)
    if f.target_id:
        stmt = stmt.where(AuditEntry.target_id == f.target_id)
    if f.since is not None:
        stmt = stmt.where(AuditEntry.created_at >= f.since)
    if f.until is not None:
        stmt = stmt.where(AuditEntry.created_at < f.until)
    if f.before_id is not None:
        stmt = stmt.where(AuditEntry.id < f.before_id)
    return list(await session.scalars(stmt.order_by(AuditEntry.id.desc()).limit(limit)))
