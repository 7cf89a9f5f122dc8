"""The assignment engine: hand a queue's waiting conversations to agents with free capacity.

Order: conversation priority first (higher first), then the longest waiting
(``first_queued_at``). Eligible agents: online members of the queue with free
capacity for the conversation's channel kind, ranked by the queue's strategy.

Never beyond capacity, never two agents for one conversation, also with several
processes assigning at once:
- PostgreSQL: the conversation row is taken with ``FOR UPDATE SKIP LOCKED`` (a
  concurrent assigner takes the next one), the agent's state row with ``FOR UPDATE
  SKIP LOCKED`` (an agent being assigned elsewhere is skipped, so assigners never
  wait on each other and cannot deadlock), and status and load are re-read inside
  the lock before assigning. Manual take-next, pick and presence changes lock the
  agent row too (waiting), so the re-check sees every committed assignment.
- SQLite: the first statement takes the database's single write lock
  (:func:`repository.sqlite_write_lock`), so assigners run one after another.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.conversations.models import Conversation
from omniline.conversations.transfers import do_system_assign
from omniline.jobs import service as jobs
from omniline.kit.clock import iso, utcnow
from omniline.presence import repository as repo
from omniline.presence.models import (
    AgentState,
    ChannelKind,
    Offer,
    Presence,
    PresenceSettings,
    QueueRouting,
    Strategy,
    kind_of,
)
from omniline.presence.strategies import Candidate, needs_all, rank
from omniline.realtime.events import Audience, RealtimeEvent
from omniline.realtime.service import publish_on_commit

BATCH = 50  # assignments per run; a job with more to do enqueues its successor
PAGE = 16  # candidates read at a time (paged strategies)


@dataclass(frozen=True, slots=True)
class Assignment:
    conversation_id: int
    user_id: int


async def run_queue(
    session: AsyncSession, workspace_id: int, queue_id: int, *, limit: int = BATCH
) -> list[Assignment]:
    """Assign up to ``limit`` waiting conversations of one queue; flushes, never commits."""
    await repo.sqlite_write_lock(session)
    routing = await repo.routing_of(session, workspace_id, queue_id)
    if not routing.auto_assign:
        return []
    defaults = await repo.settings_of(session, workspace_id)
    pages: dict[ChannelKind, Pager] = {}
    made: list[Assignment] = []
    no_agent: set[ChannelKind] = set()
    while len(made) < limit and len(no_agent) < len(ChannelKind):
        conv = await repo.next_waiting(session, workspace_id, [queue_id], skip_kinds=no_agent)
        if conv is None:
            break
        kind = kind_of(conv.channel)
        pager = pages.setdefault(kind, Pager(workspace_id, queue_id, kind, routing, defaults))
        user_id = await pager.choose(session)
        if user_id is None:
            # Nobody can take this kind now: later conversations of it neither.
            no_agent.add(kind)
            continue
        await give(session, conv, user_id, routing, reason="auto")
        pager.assigned(user_id)
        made.append(Assignment(conv.id, user_id))
    return made


async def choose_agent(
    session: AsyncSession,
    workspace_id: int,
    queue_id: int,
    kind: ChannelKind,
    routing: QueueRouting,
    defaults: PresenceSettings,
) -> int | None:
    """The best eligible agent, whose state row is now locked by this transaction."""
    return await Pager(workspace_id, queue_id, kind, routing, defaults).choose(session)


class Pager:
    """Candidates of one queue and channel kind, read a page at a time and kept for a run.

    The cached page only decides whom to try first; every choice is still locked and
    re-counted (:func:`_lock_with_room`), so a stale page costs a retry, never a wrong
    assignment. After an assignment the agent leaves the page (longest idle: their idle
    clock is now the newest; round robin: their turn is over) or gains a load (least
    loaded), and an empty page is read again from the database.
    """

    def __init__(
        self,
        workspace_id: int,
        queue_id: int,
        kind: ChannelKind,
        routing: QueueRouting,
        defaults: PresenceSettings,
    ) -> None:
        self.workspace_id, self.queue_id, self.kind = workspace_id, queue_id, kind
        self.routing = routing
        self.strategy = Strategy(routing.strategy)
        self.default = int(getattr(defaults, kind.value))
        self.limit = None if needs_all(self.strategy) else PAGE
        self.page: list[Candidate] = []
        self.exhausted = False

    async def _read(self, session: AsyncSession, offset: int) -> list[Candidate]:
        return await repo.candidates(
            session, self.workspace_id, self.queue_id, self.strategy, self.routing.last_user_id,
            self.kind, self.default, offset=offset, limit=self.limit,
        )  # fmt: skip

    async def choose(self, session: AsyncSession) -> int | None:
        if not self.page:
            self.page = await self._read(session, 0)
        offset, page = 0, self.page
        while page:
            for c in rank(self.strategy, page, self.routing.last_user_id):
                if await _lock_with_room(
                    session, self.workspace_id, c.user_id, self.kind, self.default
                ):
                    return c.user_id
                self.page = [x for x in self.page if x.user_id != c.user_id]
            if self.limit is None or len(page) < self.limit:
                return None
            offset += self.limit
            page = await self._read(session, offset)
        return None

    def assigned(self, user_id: int) -> None:
        if self.strategy == Strategy.least_loaded:
            self.page = [
                replace(c, load=c.load + 1) if c.user_id == user_id else c for c in self.page
            ]
        else:
            self.page = [c for c in self.page if c.user_id != user_id]


async def _lock_with_room(
    session: AsyncSession, workspace_id: int, user_id: int, kind: ChannelKind, default: int
) -> bool:
    """Lock the agent (skipping one another assigner holds) and re-check inside the lock.

    The count is a new statement, so on PostgreSQL it sees every assignment committed
    by whoever held the lock before us.
    """
    locked = await repo.lock_agent(session, workspace_id, user_id, kind, default)
    if locked is None or locked[0] != Presence.online.value:
        return False
    return await repo.count_load(session, user_id, kind) < locked[1]


async def has_room(
    session: AsyncSession, state: AgentState | None, defaults: PresenceSettings, kind: ChannelKind
) -> tuple[bool, int, int]:
    """(room, load, capacity) of a locked agent for one channel kind."""
    if state is None:
        return False, 0, 0
    load = await repo.load_of(session, state.user_id, kind)
    cap = repo.capacity(state, defaults, kind)
    return load < cap, load, cap


async def give(
    session: AsyncSession,
    conv: Conversation,
    user_id: int,
    routing: QueueRouting,
    *,
    reason: str,
) -> None:
    """Assign a locked conversation to a locked agent; offer it when the queue asks for it."""
    now = utcnow()
    await do_system_assign(session, conv, user_id, reason=reason)
    await session.execute(
        update(AgentState).where(AgentState.user_id == user_id).values(idle_since=now)
    )
    if routing in session:  # only a saved routing row keeps the round-robin pointer
        routing.last_user_id = user_id
    if routing.requires_acceptance:
        await offer(session, conv, user_id, routing.acceptance_seconds)
    await session.flush()


async def offer(session: AsyncSession, conv: Conversation, user_id: int, seconds: int) -> Offer:
    now = utcnow()
    expires = now + timedelta(seconds=seconds)
    row = await session.get(Offer, conv.id)
    if row is None:
        row = Offer(conversation_id=conv.id, workspace_id=conv.workspace_id)
        session.add(row)
    row.assignee_id = user_id
    row.offered_at = now
    row.expires_at = expires
    row.accepted_at = None
    await session.flush()
    publish_on_commit(
        session,
        RealtimeEvent(
            type="assignment.offered",
            data=offer_view(row),
            audience=Audience(workspace_id=conv.workspace_id, user_id=user_id),
        ),
    )
    await jobs.enqueue(
        session,
        "acceptance_timeout",
        {"conversation_id": conv.id, "assignee_id": user_id, "offered_at": iso(now)},
        run_at=expires,
        workspace_id=conv.workspace_id,
    )
    return row


def offer_view(o: Offer) -> dict[str, Any]:
    return {
        "conversation_id": o.conversation_id,
        "assignee_id": o.assignee_id,
        "offered_at": iso(o.offered_at),
        "expires_at": iso(o.expires_at),
        "accepted_at": iso(o.accepted_at),
    }


def withdrawn(session: AsyncSession, workspace_id: int, conv_id: int, user_id: int) -> None:
    """Tell the agent's tabs to drop the "Accept" prompt (timed out or taken back)."""
    publish_on_commit(
        session,
        RealtimeEvent(
            type="assignment.withdrawn",
            data={"conversation_id": conv_id},
            audience=Audience(workspace_id=workspace_id, user_id=user_id),
        ),
    )
