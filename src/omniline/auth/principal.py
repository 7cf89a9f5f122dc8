"""Who is acting: a staff member with the queues they may see, or a widget visitor."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Principal:
    user_id: int
    workspace_id: int
    role: str
    name: str
    email: str
    locale: str
    # Queues whose conversations this person may open; ``None`` means every queue.
    queue_ids: frozenset[int] | None
    token_id: int | None = None
    # A session that may only set up two-factor sign-in (its role requires it).
    setup_only: bool = False


@dataclass(frozen=True, slots=True)
class Visitor:
    """A customer in the widget or the mobile app, identified by a signed session token."""

    workspace_id: int
    inbox_id: int
    contact_id: int
    verified: bool
