"""The ACD engine: which agent rings for which waiting call, and when a call overflows.

Pure and synchronous: no I/O, no clock, no randomness. The caller (the voice controller,
the replay) passes the time ``now`` in seconds and carries out the returned actions.

Invariants that keep a decision cheap:
- A queue's pool holds its members that are available and not ringing, in strategy order.
- A call is *pending* while no agent rings for it. A pending call has no available,
  eligible agent (else it would ring), so when an agent frees up it is the only
  candidate: it takes the best pending call of its queues (priority, then entry time).
- Deadlines (ring timeouts, overflow, max wait, end of a skip) sit in one heap and are
  dropped lazily: each carries a token that stops matching once the call moved on.

Methods whose signature returns no actions (``remove``, ``set_agent`` does not dispatch)
keep any follow-up actions for the next ``tick()``; ``next_deadline()`` reports them due.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from omniline.acd.queue_strategy import Pool
from omniline.acd.state import AgentState, CallState, QueueState, snapshot
from omniline.acd.types import (
    Action,
    Expire,
    Offer,
    Overflow,
    QueueSpec,
    Release,
    Strategy,
    Waiting,
)

__all__ = [
    "Acd",
    "Action",
    "Expire",
    "Offer",
    "Overflow",
    "QueueSpec",
    "Release",
    "Strategy",
    "Waiting",
]

_RING, _OVERFLOW, _EXPIRE, _SKIP = 0, 1, 2, 3


class Acd:
    def __init__(self) -> None:
        self._queues: dict[int, QueueState] = {}
        self._agents: dict[int, AgentState] = {}
        self._calls: dict[str, CallState] = {}
        self._deadlines: list[tuple[float, int, int, str, int]] = []
        self._seq = 0
        self._stash: list[Action] = []
        self._stash_at: float | None = None

    # ------------------------------------------------------------ configuration

    def set_queue(self, spec: QueueSpec) -> None:
        """Create or change a queue. Deadlines of calls already queued keep the old timing."""
        q = self._queues.get(spec.id)
        if q is None:
            self._queues[spec.id] = QueueState(spec, Pool(spec.strategy))
            return
        q.spec = spec
        if q.pool.strategy != spec.strategy:
            old = q.pool.agent_ids()
            q.pool = Pool(spec.strategy)
            for agent_id in old:
                a = self._agents[agent_id]
                q.pool.add(agent_id, a.idle_since, a.load)

    def set_agent(
        self, agent_id: int, *, queue_ids: Iterable[int], skills: Iterable[str] = ()
    ) -> None:
        """Membership and skills, replacing earlier ones. It offers nothing (no ``now``):
        call ``agent_available`` again to have an available agent take calls of new queues."""
        ids = tuple(dict.fromkeys(queue_ids))
        for qid in ids:
            self._queue(qid)
        a = self._agents.setdefault(agent_id, AgentState(agent_id))
        self._leave_pools(a)
        for qid in a.queue_ids:
            self._queues[qid].members.discard(agent_id)
        a.queue_ids, a.skills = ids, frozenset(skills)
        for qid in ids:
            self._queues[qid].members.add(agent_id)
        if a.available and a.ringing is None:
            self._join_pools(a)

    # ------------------------------------------------------------ agents

    def remove_agent(self, agent_id: int, now: float) -> list[Action]:
        """Log out: the agent is forgotten (membership too); a call ringing it is re-offered."""
        if agent_id not in self._agents:
            return []
        actions = self.agent_unavailable(agent_id, now)
        a = self._agents.pop(agent_id)
        for qid in a.queue_ids:
            self._queues[qid].members.discard(agent_id)
        return actions

    def agent_available(self, agent_id: int, now: float, *, load: int = 0) -> list[Action]:
        """Ready for one more call; ``load`` is its other open work (least_loaded).
        Idempotent: an agent already available keeps its idle time and gets its load updated."""
        a = self._agent(agent_id)
        if not a.available:
            a.available, a.idle_since = True, now
        a.load = load
        if a.ringing is not None:
            return []  # reserved for an offer until answered, declined or released
        return self._serve_agent(a, now)

    def agent_unavailable(self, agent_id: int, now: float) -> list[Action]:
        """Talking, after-call work, paused, offline: a call ringing it is re-offered."""
        a = self._agent(agent_id)
        a.available = False
        self._leave_pools(a)
        if a.ringing is None:
            return []
        actions: list[Action] = [Release(a.ringing, (a.id,))]
        return actions + self._ring_ends(a, now, skip=False)

    # ------------------------------------------------------------ calls

    def enqueue(self, w: Waiting, now: float) -> list[Action]:
        """Queue a call (or callback); overflow and max wait count from ``now``."""
        if w.id in self._calls:
            raise ValueError(f"call {w.id} is already queued")
        q = self._queue(w.queue_id)
        c = CallState(w, (-w.priority, w.entered_at, self._next(), w.id))
        self._admit(c, q, now)
        return self._offer(c, now)

    def remove(self, call_id: str, now: float) -> Waiting | None:
        """Hung up, answered elsewhere, overflowed by the caller. Its Release, and offers
        the freed agents take, are returned by the next ``tick()``."""
        c = self._calls.get(call_id)
        if c is None:
            return None
        freed = self._detach(c)
        if freed:
            if self._stash_at is None:
                self._stash_at = now
            self._stash += self._released(call_id, freed, now)
        return c.w

    def answered(self, call_id: str, agent_id: int, now: float) -> list[Action]:
        """The call leaves the queue; others ringing for it are released (and may take other
        calls); the agent becomes unavailable until ``agent_available``."""
        a = self._agent(agent_id)
        actions: list[Action] = []
        if a.ringing is not None and a.ringing != call_id:
            actions += [Release(a.ringing, (a.id,)), *self._ring_ends(a, now, skip=False)]
        a.available, a.ringing = False, None
        self._leave_pools(a)
        c = self._calls.get(call_id)
        if c is None:
            return actions
        c.ringing.discard(agent_id)
        return actions + self._released(call_id, self._detach(c), now)

    def declined(self, call_id: str, agent_id: int, now: float) -> list[Action]:
        """Rejected or not answered: the agent is skipped for this call for the queue's
        ``skip_declined_s`` and is free for other calls; the call keeps its place."""
        a = self._agent(agent_id)
        if call_id not in self._calls or a.ringing != call_id:
            return []
        actions = self._ring_ends(a, now, skip=True)
        if a.available and a.ringing is None:
            actions += self._serve_agent(a, now)
        return actions

    # ------------------------------------------------------------ time

    def tick(self, now: float) -> list[Action]:
        """Actions kept by ``remove``, then ring timeouts, overflows, max waits and ends of
        skips that are due at ``now``."""
        actions, self._stash, self._stash_at = self._stash, [], None
        heap = self._deadlines
        while heap and heap[0][0] <= now:
            when, _, kind, call_id, token = heapq.heappop(heap)
            c = self._live(when, kind, call_id, token)
            if c is not None:
                actions += self._fire(kind, c, token, now)
        return actions

    def next_deadline(self) -> float | None:
        heap = self._deadlines
        while heap and self._live(heap[0][0], *heap[0][2:]) is None:
            heapq.heappop(heap)
        nxt = heap[0][0] if heap else None
        if self._stash_at is not None:
            return self._stash_at if nxt is None else min(nxt, self._stash_at)
        return nxt

    # ------------------------------------------------------------ reading

    def position(self, call_id: str) -> int | None:
        """1-based place in its queue, counting calls that are ringing an agent."""
        c = self._calls.get(call_id)
        return None if c is None else self._queues[c.w.queue_id].line.position(c.key)

    def estimated_wait(self, call_id: str, now: float) -> float | None:
        """Seconds until an agent answers: 0 while ringing, else
        ``position × mean handle time / members`` (agents free up at ``members / AHT`` per
        second, and the call needs ``position`` of them). AHT is the mean of the queue's
        last ``HANDLE_TIMES_KEPT`` handle times; None before any is known, or unknown call."""
        c = self._calls.get(call_id)
        if c is None:
            return None
        if c.ringing:
            return 0.0
        q = self._queues[c.w.queue_id]
        if not q.handle_times:
            return None
        aht = sum(q.handle_times) / len(q.handle_times)
        return q.line.position(c.key) * aht / max(1, len(q.members))

    def handled(self, queue_id: int, seconds: float) -> None:
        """A call of this queue was handled in ``seconds`` (talk + after-call work)."""
        if seconds >= 0:
            self._queue(queue_id).handle_times.append(seconds)

    def waiting(self, queue_id: int) -> list[Waiting]:
        return [self._calls[k[3]].w for k in self._queue(queue_id).line.all]

    def snapshot(self) -> dict[str, Any]:
        """Queues (waiting, ringing, available, members) and agents, as plain data."""
        return snapshot(self._queues, self._agents, self._calls)

    # ------------------------------------------------------------ internals

    def _queue(self, queue_id: int) -> QueueState:
        q = self._queues.get(queue_id)
        if q is None:
            raise KeyError(f"unknown queue {queue_id}")
        return q

    def _agent(self, agent_id: int) -> AgentState:
        a = self._agents.get(agent_id)
        if a is None:
            raise KeyError(f"unknown agent {agent_id}: set_agent first")
        return a

    def _next(self) -> int:
        self._seq += 1
        return self._seq

    def _push(self, when: float, kind: int, call_id: str, token: int) -> None:
        heapq.heappush(self._deadlines, (when, self._next(), kind, call_id, token))

    def _join_pools(self, a: AgentState) -> None:
        for qid in a.queue_ids:
            self._queues[qid].pool.add(a.id, a.idle_since, a.load)

    def _leave_pools(self, a: AgentState) -> None:
        for qid in a.queue_ids:
            self._queues[qid].pool.discard(a.id)

    def _eligible(self, a: AgentState, c: CallState, now: float) -> bool:
        return c.w.skills <= a.skills and c.skipped.get(a.id, -math.inf) <= now

    def _admit(self, c: CallState, q: QueueState, now: float) -> None:
        spec = q.spec
        self._calls[c.w.id] = c
        q.line.add(c.key)
        c.stint = self._next()
        has_target = spec.overflow_to_queue is not None or spec.overflow_to_number is not None
        if spec.overflow_after_s is not None and has_target:
            self._push(now + spec.overflow_after_s, _OVERFLOW, c.w.id, c.stint)
        if spec.max_wait_s is not None:
            self._push(now + spec.max_wait_s, _EXPIRE, c.w.id, c.stint)

    def _offer(self, c: CallState, now: float) -> list[Action]:
        """Ring the strategy's choice of eligible available members for a pending call."""
        q = self._queues[c.w.queue_id]
        ring_all = q.spec.strategy == "ring_all"
        chosen: list[int] = []
        for agent_id in q.pool.candidates():
            if self._eligible(self._agents[agent_id], c, now):
                chosen.append(agent_id)
                if not ring_all:
                    break
        if not chosen:
            return []
        for agent_id in chosen:
            a = self._agents[agent_id]
            a.ringing = c.w.id
            self._leave_pools(a)
        q.pool.last_chosen = chosen[0]
        q.line.ringing(c.key)
        c.ringing.update(chosen)
        c.offer_gen = self._next()
        self._push(now + q.spec.ring_timeout_s, _RING, c.w.id, c.offer_gen)
        return [Offer(c.w.id, tuple(chosen))]

    def _serve_agent(self, a: AgentState, now: float) -> list[Action]:
        """An available agent joins its pools and the best pending calls it can take ring."""
        self._join_pools(a)
        actions: list[Action] = []
        while a.ringing is None:
            c = self._best_call_for(a, now)
            if c is None:
                break
            # Offered by the queue's strategy: usually to ``a``, but a member whose skip
            # of this call just ended may come first; then ``a`` looks for the next call.
            actions += self._offer(c, now)
        return actions

    def _best_call_for(self, a: AgentState, now: float) -> CallState | None:
        best: CallState | None = None
        for qid in a.queue_ids:
            for key in self._queues[qid].line.pending:
                if best is not None and key >= best.key:
                    break
                c = self._calls[key[3]]
                if self._eligible(a, c, now):
                    best = c
                    break
        return best

    def _ring_ends(self, a: AgentState, now: float, *, skip: bool) -> list[Action]:
        """Agent ``a`` stops ringing for its call; the call is re-offered once nobody rings."""
        c = self._calls[a.ringing] if a.ringing is not None else None
        a.ringing = None
        if c is None:
            return []
        c.ringing.discard(a.id)
        if skip:
            until = now + self._queues[c.w.queue_id].spec.skip_declined_s
            c.skipped[a.id] = until
            self._push(until, _SKIP, c.w.id, a.id)
        if c.ringing:
            return []
        self._queues[c.w.queue_id].line.back(c.key)
        return self._offer(c, now)

    def _detach(self, c: CallState) -> list[AgentState]:
        """Take the call out of the engine; returns the agents that were ringing for it."""
        self._queues[c.w.queue_id].line.drop(c.key)
        del self._calls[c.w.id]
        freed = [self._agents[i] for i in sorted(c.ringing)]
        for a in freed:
            a.ringing = None
        c.ringing.clear()
        return freed

    def _released(self, call_id: str, freed: list[AgentState], now: float) -> list[Action]:
        if not freed:
            return []
        return [Release(call_id, tuple(a.id for a in freed)), *self._serve_all(freed, now)]

    def _serve_all(self, agents: list[AgentState], now: float) -> list[Action]:
        """Several agents freed at once all join their pools first, so that a ring_all
        queue rings every one of them for its next call."""
        free = [a for a in agents if a.available and a.ringing is None]
        for a in free:
            self._join_pools(a)
        actions: list[Action] = []
        for a in free:
            if a.ringing is None:
                actions += self._serve_agent(a, now)
        return actions

    def _live(self, when: float, kind: int, call_id: str, token: int) -> CallState | None:
        c = self._calls.get(call_id)
        if c is None:
            return None
        if kind == _RING:
            ok = c.offer_gen == token and bool(c.ringing)
        elif kind == _SKIP:
            ok = c.skipped.get(token) == when
        else:
            ok = c.stint == token
        return c if ok else None

    def _fire(self, kind: int, c: CallState, token: int, now: float) -> list[Action]:
        if kind == _RING:
            return self._ring_timeout(c, now)
        if kind == _SKIP:
            del c.skipped[token]
            return [] if c.ringing else self._offer(c, now)
        spec = self._queues[c.w.queue_id].spec
        freed = self._detach(c)
        actions: list[Action] = [Release(c.w.id, tuple(a.id for a in freed))] if freed else []
        if kind == _EXPIRE:
            actions.append(Expire(c.w.id))
        else:
            actions += self._overflow(c, spec, now)
        return actions + self._serve_all(freed, now)

    def _ring_timeout(self, c: CallState, now: float) -> list[Action]:
        freed = [self._agents[i] for i in sorted(c.ringing)]
        actions: list[Action] = [Release(c.w.id, tuple(a.id for a in freed))]
        for a in freed:
            actions += self._ring_ends(a, now, skip=True)
        return actions + self._serve_all(freed, now)

    def _overflow(self, c: CallState, spec: QueueSpec, now: float) -> list[Action]:
        target = (
            None if spec.overflow_to_queue is None else self._queues.get(spec.overflow_to_queue)
        )
        if target is None:
            return [Overflow(c.w.id, spec.overflow_to_queue, spec.overflow_to_number)]
        # Same key: the call keeps its place in line (priority, entry time) in the new queue.
        c.w = replace(c.w, queue_id=target.spec.id)
        self._admit(c, target, now)
        return [Overflow(c.w.id, target.spec.id, None), *self._offer(c, now)]
