"""Sign-ins into the audit log: reactions to the auth domain's events.

``auth.login_succeeded`` / ``auth.login_failed`` carry user_id (int or None), email,
ip, user_agent, method and reason. A failure is emitted in its own committed unit
of work, so its row stays even though the sign-in request answers an error.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from omniline.audit import service
from omniline.kit import hooks
from omniline.kit.hooks import DomainEvent

LOGIN_ACTIONS = {"auth.login_succeeded": "auth.login", "auth.login_failed": "auth.login_failed"}


async def on_login(session: AsyncSession, event: DomainEvent) -> None:
    d = event.data
    user_id = d.get("user_id")
    email = str(d.get("email") or "")[:320]
    details = {k: d[k] for k in ("method", "reason") if d.get(k) is not None}
    await service.record(
        session,
        LOGIN_ACTIONS[event.type],
        workspace_id=event.workspace_id or None,
        actor_id=user_id if isinstance(user_id, int) else None,
        actor_label=email,
        target_type="user" if isinstance(user_id, int) else "",
        target_id=user_id if isinstance(user_id, int) else "",
        target_label=email,
        ip=str(d.get("ip") or ""),
        user_agent=str(d.get("user_agent") or ""),
        data=details,
    )


def register() -> None:
    for event_type in LOGIN_ACTIONS:
        hooks.on(event_type, on_login)
