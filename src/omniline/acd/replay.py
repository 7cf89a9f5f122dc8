"""Replay recorded calls through the ACD engine in simulated time.

A discrete-event simulation: the recorded arrivals (queue entry times), service times
(``ser_time``) and, for callers who hung up while queued, their patience (``q_time``)
are fed through the same ``Acd`` the live voice controller drives. Agents answer an
offer at once (no ring time), so the simulated wait is the time until an agent was free.

Choices (docs/metrics.md, "Voice replay", says why):
- Queues: one per team found in the data. The servers whose calls are mostly type IN
  (internet) form the "internet" team and queue; everyone else forms "general", which
  takes all other types. ``one_queue=True`` puts every call and agent in one queue.
  Priority 2 customers are served first (engine priority 1), others FIFO.
- Agents per interval: the distinct servers (``NO_SERVER`` counting as one) of a team
  busy at any moment of that interval of that day, busy meaning from leaving the queue
  (entry + recorded wait) for ``ser_time`` seconds.
- At an interval boundary the count changes: new agents log in at once; agents beyond
  the new count log out, idle ones first, and a busy one only when its call ends.
- Patience of answered callers is unknown (censored): they wait as long as needed.
  A caller abandoned in the records but answered in the simulation gets the mean
  recorded service time of its call type.
"""

from __future__ import annotations

import heapq
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from omniline.acd.engine import Acd
from omniline.acd.metrics import Outcome
from omniline.acd.records import QueuedCall
from omniline.acd.types import Action, Offer, QueueSpec, Waiting

INTERNET_TYPE = "IN"
TEAM_QUEUES = {"general": 1, "internet": 2}
# Same-time events: a call ending frees its agent before staffing changes, and both
# before a new caller arrives or a waiting one gives up.
_END, _STAFF, _ARRIVE, _ABANDON = 0, 1, 2, 3


def teams_of_servers(calls: Iterable[QueuedCall], one_queue: bool = False) -> dict[str, str]:
    """Server name -> team: "internet" when most of its answered calls were type IN."""
    counts: dict[str, Counter[bool]] = defaultdict(Counter)
    for c in calls:
        if c.server is not None:
            counts[c.server][c.type == INTERNET_TYPE] += 1
    if one_queue:
        return dict.fromkeys(counts, "general")
    return {s: "internet" if n[True] > n[False] else "general" for s, n in counts.items()}


def staffing(
    calls: Iterable[QueuedCall], teams: dict[str, str], interval_s: float
) -> dict[str, dict[int, int]]:
    """Team -> interval number (time // interval_s) -> distinct servers busy in it."""
    busy: dict[str, dict[int, set[str]]] = defaultdict(lambda: defaultdict(set))
    for c in calls:
        if c.server is None:
            continue
        start = c.entered + c.wait
        last = start + c.service - 1e-9 if c.service > 0 else start
        for n in range(int(start // interval_s), int(last // interval_s) + 1):
            busy[teams[c.server]][n].add(c.server)
    return {t: {n: len(s) for n, s in by_n.items()} for t, by_n in busy.items()}


def _team_of_call(c: QueuedCall, one_queue: bool) -> str:
    return "internet" if c.type == INTERNET_TYPE and not one_queue else "general"


@dataclass(slots=True)
class _Agent:
    team: str
    busy: bool = False
    leaving: bool = False


@dataclass(slots=True)
class _Sim:
    calls: list[QueuedCall]
    service_of: dict[str, float]  # call type -> mean recorded service time
    one_queue: bool
    acd: Acd = field(default_factory=Acd)
    events: list[tuple[float, int, int, int]] = field(default_factory=list)
    agents: dict[int, _Agent] = field(default_factory=dict)
    waiting: dict[str, int] = field(default_factory=dict)  # call id -> index in calls
    outcomes: list[Outcome | None] = field(default_factory=list)
    agent_seq: int = 0
    staff_plan: list[tuple[str, int]] = field(default_factory=list)
    seq: int = 0  # ties of time and kind: first scheduled, first run

    def push(self, when: float, kind: int, ref: int) -> None:
        self.seq += 1
        heapq.heappush(self.events, (when, kind, self.seq, ref))

    def run(self) -> list[Outcome | None]:
        while self.events:
            now, kind, _, ref = heapq.heappop(self.events)
            if kind == _END:
                self.call_ends(ref, now)
            elif kind == _STAFF:
                team, count = self.staff_plan[ref]
                self.staff(team, count, now)
            elif kind == _ARRIVE:
                self.arrive(ref, now)
            else:
                self.abandon(ref, now)
        return self.outcomes

    def arrive(self, i: int, now: float) -> None:
        c = self.calls[i]
        self.waiting[c.call_id] = i
        queue = TEAM_QUEUES[_team_of_call(c, self.one_queue)]
        w = Waiting(c.call_id, queue, c.entered, priority=1 if c.priority == 2 else 0)
        self.carry_out(self.acd.enqueue(w, now), now)
        if not c.answered:
            self.push(now + c.wait, _ABANDON, i)

    def abandon(self, i: int, now: float) -> None:
        c = self.calls[i]
        if self.waiting.pop(c.call_id, None) is None:
            return  # answered before the caller would have given up
        self.acd.remove(c.call_id, now)
        self.outcomes[i] = Outcome(c.day, answered=False, wait=c.wait)
        self.carry_out(self.acd.tick(now), now)

    def carry_out(self, actions: list[Action], now: float) -> None:
        """Offers are answered at once; nothing else happens without ring time or overflow."""
        for action in actions:
            if isinstance(action, Offer):
                self.answer(action.call_id, action.agent_ids[0], now)

    def answer(self, call_id: str, agent_id: int, now: float) -> None:
        i = self.waiting.pop(call_id)
        c = self.calls[i]
        self.outcomes[i] = Outcome(c.day, answered=True, wait=now - c.entered)
        self.agents[agent_id].busy = True
        service = c.service if c.answered else self.service_of.get(c.type, 0.0)
        self.push(now + service, _END, agent_id)
        self.carry_out(self.acd.answered(call_id, agent_id, now), now)

    def call_ends(self, agent_id: int, now: float) -> None:
        a = self.agents[agent_id]
        a.busy = False
        if a.leaving:
            del self.agents[agent_id]
            self.carry_out(self.acd.remove_agent(agent_id, now), now)
        else:
            self.carry_out(self.acd.agent_available(agent_id, now), now)

    def staff(self, team: str, count: int, now: float) -> None:
        """Bring the team to ``count`` logged-in agents without cutting a call short."""
        mine = sorted((i for i, a in self.agents.items() if a.team == team), reverse=True)
        staying = [i for i in mine if not self.agents[i].leaving]
        for i in mine:  # agents on their way out stay on instead of new ones logging in
            if len(staying) >= count:
                break
            if self.agents[i].leaving:
                self.agents[i].leaving = False
                staying.append(i)
        while len(staying) < count:
            self.agent_seq += 1
            self.agents[self.agent_seq] = _Agent(team)
            staying.append(self.agent_seq)
            self.acd.set_agent(self.agent_seq, queue_ids=[TEAM_QUEUES[team]])
            self.carry_out(self.acd.agent_available(self.agent_seq, now), now)
        excess = len(staying) - count
        idle_first = sorted(staying, key=lambda i: (self.agents[i].busy, -i))
        for i in idle_first[:excess]:
            if self.agents[i].busy:
                self.agents[i].leaving = True
            else:
                del self.agents[i]
                self.carry_out(self.acd.remove_agent(i, now), now)


def simulate(
    calls: list[QueuedCall], *, interval_s: float = 1800.0, one_queue: bool = False
) -> list[Outcome | None]:
    """Outcome of each call (same order) in the simulation; None for a call still waiting
    when the data ends (no agent was ever on duty after it arrived)."""
    sim = _Sim(calls, _mean_service(calls), one_queue)
    for queue in TEAM_QUEUES.values():
        sim.acd.set_queue(QueueSpec(queue, "longest_idle"))
    sim.outcomes = [None] * len(calls)
    plan = staffing(calls, teams_of_servers(calls, one_queue), interval_s)
    for team, by_interval in sorted(plan.items()):
        previous = 0
        for n in range(min(by_interval), max(by_interval) + 2):
            count = by_interval.get(n, 0)
            if count != previous:
                sim.staff_plan.append((team, count))
                sim.push(n * interval_s, _STAFF, len(sim.staff_plan) - 1)
                previous = count
    for i, c in enumerate(calls):
        sim.push(c.entered, _ARRIVE, i)
    return sim.run()


def _mean_service(calls: Iterable[QueuedCall]) -> dict[str, float]:
    total: dict[str, float] = defaultdict(float)
    count: Counter[str] = Counter()
    for c in calls:
        if c.answered:
            total[c.type] += c.service
            count[c.type] += 1
    return {t: total[t] / count[t] for t in count}
