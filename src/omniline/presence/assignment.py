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
  agent row too (waiting), so the re-check sees every committed assignment. The engine
  takes both locks in one statement (:class:`QueueRun`); the load is counted by the
  next one, whose snapshot is taken after the locks are held.
- SQLite: the first statement takes the database's single write lock
  (:func:`repository.sqlite_write_lock`), so assigners run one after another.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.conversations.models import Conversation
from omniline.conversations.transfers import do_system_assign
from omniline.jobs import service as jobs
from omniline.kit.clock import iso, utcnow
from omniline.presence import loads as _loads  # noqa: F401  (its listeners keep the loads)
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
from omniline.presence.strategies import Candidate, rank, sort_key
from omniline.realtime.events import Audience, RealtimeEvent
from omniline.realtime.service import publish_on_commit

BATCH = 50  # assignments per run; a job with more to do enqueues its successor
PAGE = BATCH  # candidates read at a time (paged strategies): one read covers a run


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
    run = QueueRun(workspace_id, queue_id, routing, await repo.settings_of(session, workspace_id))
    made: list[Assignment] = []
    while len(made) < limit:
        decided = await run.decide(session)
        if decided is None:
            break
        conv, user_id = decided
        await give(session, conv, user_id, routing, reason="auto")
        run.assigned(user_id)
        made.append(Assignment(conv.id, user_id))
    return made


class QueueRun:
    """One run of the engine over a queue: the next conversation and its agent, repeatedly.

    A decision is two statements: the next conversation locked together with the agent
    the last kind's page ranks first (one round trip), then that agent's load counted.
    A full page or a conversation of another kind falls back to locking agents one by
    one (:meth:`Pager.choose`).
    """

    def __init__(
        self, workspace_id: int, queue_id: int, routing: QueueRouting, defaults: PresenceSettings
    ) -> None:
        self.workspace_id, self.queue_id = workspace_id, queue_id
        self.routing, self.defaults = routing, defaults
        self.pages: dict[ChannelKind, Pager] = {}
        self.no_agent: set[ChannelKind] = set()  # nobody can take these kinds now
        self.last: Pager | None = None

    async def _next(self, session: AsyncSession) -> tuple[Conversation | None, Held | None]:
        last = self.last
        first = last.peek() if last is not None and last.kind not in self.no_agent else None
        if last is None or first is None:
            conv = await repo.next_waiting(
                session, self.workspace_id, [self.queue_id], skip_kinds=self.no_agent
            )
            return conv, None
        conv, locked = await repo.next_waiting_with_agent(
            session, self.workspace_id, self.queue_id, self.no_agent,
            (first, last.kind, last.default),
        )  # fmt: skip
        return conv, Held(first, last.kind, locked)

    async def decide(self, session: AsyncSession) -> tuple[Conversation, int] | None:
        """The next conversation and the agent for it, both locked; None when done."""
        while len(self.no_agent) < len(ChannelKind):
            conv, held = await self._next(session)
            if conv is None:
                return None
            kind = kind_of(conv.channel)
            pager = self.pages.get(kind)
            if pager is None:
                pager = Pager(self.workspace_id, self.queue_id, kind, self.routing, self.defaults)
                self.pages[kind] = pager
            user_id = await pager.choose(session, held if held and held.kind == kind else None)
            if user_id is not None:
                self.last = pager
                return conv, user_id
            # Nobody can take this kind now: later conversations of it neither.
            self.no_agent.add(kind)
        return None

    def assigned(self, user_id: int) -> None:
        if self.last is not None:
            self.last.assigned(user_id)


@dataclass(frozen=True, slots=True)
class Held:
    """An agent locked along with the conversation: (status, capacity), None if skipped."""

    user_id: int
    kind: ChannelKind
    locked: tuple[str, int] | None


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
        self.limit = PAGE
        self.page: list[Candidate] = []
        # Least loaded: the rank of the page's last row when more agents are left
        # unread; an agent whose load grows past it leaves the page (someone unread may
        # rank first now), so whoever the page ranks first is the queue's best.
        self.bound: Any = None
        self.ranked: list[Candidate] | None = None  # the page in order, until it changes
        # Conversations this run gave each agent in its transaction: the load columns are
        # recounted at commit (presence/loads.py), so a page read again adds them itself.
        self.given: Counter[int] = Counter()

    def _ranked(self) -> list[Candidate]:
        if self.ranked is None:
            self.ranked = rank(self.strategy, self.page, self.routing.last_user_id)
        return self.ranked

    def _set(self, page: list[Candidate]) -> None:
        self.page, self.ranked = page, None

    def peek(self) -> int | None:
        """Whom :meth:`choose` tries first, if the page is at hand (no statement)."""
        ranked = self._ranked() if self.page else []
        return ranked[0].user_id if ranked else None

    async def _read(self, session: AsyncSession, offset: int) -> list[Candidate]:
        page = await repo.candidates(
            session, self.workspace_id, self.queue_id, self.strategy, self.routing.last_user_id,
            self.kind, self.default, offset=offset, limit=self.limit,
        )  # fmt: skip
        if self.given:
            page = [replace(c, load=c.load + self.given[c.user_id]) for c in page]
        return page

    async def choose(self, session: AsyncSession, held: Held | None = None) -> int | None:
        fresh = not self.page
        if fresh:
            self._first(await self._read(session, 0))
        offset, size, ranked = 0, len(self.page), self._ranked()
        while True:
            for c in ranked:
                if held is not None and held.user_id == c.user_id:
                    ok = await _room(session, c.user_id, self.kind, held.locked)
                else:
                    ok = await _lock_with_room(
                        session, self.workspace_id, c.user_id, self.kind, self.default
                    )
                held = None
                if ok:
                    return c.user_id
                self._set([x for x in self.page if x.user_id != c.user_id])
            if not fresh:  # the kept page ran out: read again from the top, as it is now
                fresh = True
            elif self.limit is None or size < self.limit:
                return None
            else:
                offset += self.limit
            page = await self._read(session, offset)
            if offset == 0:
                self._first(page)
            size, ranked = len(page), rank(self.strategy, page, self.routing.last_user_id)

    def _first(self, page: list[Candidate]) -> None:
        """Keep the first page read from the top of the order."""
        self._set(page)
        full = self.strategy == Strategy.least_loaded and len(page) == self.limit
        self.bound = self._key(page[-1]) if full else None

    def _key(self, c: Candidate) -> Any:
        return sort_key(self.strategy, self.routing.last_user_id, c)

    def assigned(self, user_id: int) -> None:
        self.given[user_id] += 1
        if self.strategy == Strategy.least_loaded:
            bumped = [replace(c, load=c.load + 1) if c.user_id == user_id else c for c in self.page]
            bound = self.bound
            self._set(
                [
                    c
                    for c in bumped
                    if c.free and (bound is None or c.user_id != user_id or self._key(c) <= bound)
                ]
            )
        else:
            self._set([c for c in self.page if c.user_id != user_id])


async def _lock_with_room(
    session: AsyncSession, workspace_id: int, user_id: int, kind: ChannelKind, default: int
) -> bool:
    """Lock the agent (skipping one another assigner holds) and re-check inside the lock."""
    locked = await repo.lock_agent(session, workspace_id, user_id, kind, default)
    return await _room(session, user_id, kind, locked)


async def _room(
    session: AsyncSession, user_id: int, kind: ChannelKind, locked: tuple[str, int] | None
) -> bool:
    """Whether a locked agent is online with room; ``locked`` is (status, capacity).

    The count is a new statement, so on PostgreSQL it sees every assignment committed
    by whoever held the lock before us.
    """
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
