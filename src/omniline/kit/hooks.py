"""Domain events inside the transaction: how other domains react to conversation changes.

A service calls :func:`emit` after it has flushed a change. Listeners run in the
same transaction, so whatever durable work they write (a webhook delivery job, an
SLA timer) commits together with the change or not at all. Listeners must not
do network I/O themselves: they write jobs. Realtime pushes stay with the
after-commit hooks of :mod:`omniline.db`.

Event types (``data`` keys in brackets):
- ``conversation.opening`` [conversation (the object), first_text, to_address, topic]: a new
  conversation, flushed, before its ``queued`` event; listeners decide who takes it (routing
  rules, then the inbox's bot) and may leave notes for the next listener in ``data``
  (``skip_bot``)
- ``conversation.created`` [conversation_id, queue_id, inbox_id, contact_id, channel]
- ``conversation.queued`` [conversation_id, queue_id]  (created into a queue, transferred, requeued)
- ``conversation.assigned`` [conversation_id, assignee_id, queue_id] (+ ``previous_assignee_id``
  when it was taken from another agent)
- ``conversation.unassigned`` [conversation_id, previous_assignee_id, queue_id]
- ``conversation.resolved`` / ``conversation.reopened`` [conversation_id, queue_id] (+ ``by``:
  ``bot`` when a flow resolved it)
- ``conversation.bot_handoff`` [conversation_id, queue_id, reason]
- ``message.created`` [conversation_id, message_id, direction, private, author_type, queue_id]
- ``user.deactivated`` [user_id]: an account was disabled (after its sessions were ended)
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DomainEvent:
    type: str
    workspace_id: int
    data: dict[str, Any] = field(default_factory=dict)


Listener = Callable[[AsyncSession, DomainEvent], Awaitable[None]]
# Called once with every event of one type from one emit_many (a batch of new conversations).
BatchListener = Callable[[AsyncSession, list[DomainEvent]], Awaitable[None]]

_listeners: dict[str, list[Listener | tuple[BatchListener]]] = {}


def on(event_type: str, listener: Listener) -> None:
    """Register ``listener`` for one event type, or ``"*"`` for all. Idempotent."""
    bucket = _listeners.setdefault(event_type, [])
    if listener not in bucket:
        bucket.append(listener)


def on_batch(event_type: str, listener: BatchListener) -> None:
    """Register ``listener`` for all events of one type of an emit (see :func:`emit_many`).

    For a listener whose work per event is a query or a flush: one call for a batch of
    a hundred new conversations asks once instead of a hundred times. Idempotent.
    """
    bucket = _listeners.setdefault(event_type, [])
    if (listener,) not in bucket:
        bucket.append((listener,))


def clear() -> None:
    _listeners.clear()


async def emit(session: AsyncSession, event: DomainEvent) -> None:
    await emit_many(session, [event])


async def emit_many(session: AsyncSession, events: list[DomainEvent]) -> None:
    """Run the listeners of several events, grouped by type in order of first appearance.

    Each event's listeners see the events of earlier types of the batch already handled
    (all ``conversation.created`` before any ``conversation.queued``), so the caller
    lists a conversation's events in the order they happened. Within a type, each
    listener in turn gets every event (a batch listener all of them in one call).
    """
    by_type: dict[str, list[DomainEvent]] = {}
    for event in events:
        by_type.setdefault(event.type, []).append(event)
    for event_type, group in by_type.items():
        for listener in (*_listeners.get(event_type, ()), *_listeners.get("*", ())):
            if isinstance(listener, tuple):
                await listener[0](session, group)
            else:
                for event in group:
                    await listener(session, event)
