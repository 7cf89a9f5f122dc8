"""What the audit API answers."""

from __future__ import annotations

from typing import Any

from omniline.audit.models import AuditEntry

ACTION_PATTERN = r"^[a-z_]{1,32}(\.[a-z_]{0,32}){0,3}$"
TARGET_TYPE_PATTERN = r"^[a-z_]{1,32}$"


def entry_view(e: AuditEntry) -> dict[str, Any]:
    return {
        "id": e.id,
        "created_at": e.created_at.isoformat(),
        "actor_id": e.actor_id,
        "actor": e.actor_label,
        "action": e.action,
        "target_type": e.target_type,
        "target_id": e.target_id,
        "target": e.target_label,
        "ip": e.ip,
        "user_agent": e.user_agent,
        "data": e.data,
    }
